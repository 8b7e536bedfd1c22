#!/bin/bash
# A capture that came back from a lab check opens in the real readers: tcpdump and tshark read
# it without complaint and find the traffic the check made (a display filter that must match).
#
# usage: tests/lab/pcap_opens.sh RESULTS_DIR FILE TSHARK_FILTER DESCRIPTION
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lab_fixture.sh"

main() {
    local dir=$1 file=$1/$2 filter=$3 what=$4 count
    if [[ ! -s $file ]]; then
        local lab
        lab=$(lab_failure_message "$dir")
        echo "FAIL: no capture $file (${lab:-the check in the lab did not write it})"
        exit 1
    fi
    tcpdump -nn -r "$file" >"$dir/$2.tcpdump" 2>&1 || { tail -n 5 "$dir/$2.tcpdump"; echo "FAIL: tcpdump cannot read $file"; exit 1; }
    echo "tcpdump: $(wc -l <"$dir/$2.tcpdump") packets; first lines:"
    head -n 5 "$dir/$2.tcpdump"
    count=$(tshark -r "$file" -Y "$filter" 2>"$dir/$2.tshark-err" | wc -l)
    # (tshark run as root says so on stderr: not a reading problem)
    sed -i "/Running as user .root/d" "$dir/$2.tshark-err"
    if [[ -s $dir/$2.tshark-err ]]; then cat "$dir/$2.tshark-err"; echo "FAIL: tshark complained reading $file"; exit 1; fi
    if ((count == 0)); then echo "FAIL: tshark found no packet matching '$filter' ($what)"; exit 1; fi
    echo "PASS: tcpdump and tshark read $2; tshark finds $count packets of $what ('$filter')"
}

main "$@"
