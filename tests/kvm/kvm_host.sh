# Whether this host has a /dev/kvm hvmm can open. Sourced by the KVM tests' scripts.
host_kvm_opens() {
    [[ -c /dev/kvm ]] && { : <>/dev/kvm; } 2>/dev/null
}
