// open_backend (vmm/nic_spec.h): a NicSpec's network becomes a backend.
#include "base/log.h"
#include "net/pcap_writer.h"
#include "net/recording_backend.h"
#include "net/socket/dgram_backend.h"
#include "net/socket/stream_backend.h"
#include "net/socketpair/socketpair_backend.h"
#include "net/tap/tap_backend.h"
#include "net/slirp/user_backend.h"
#include "vmm/nic_spec.h"

namespace hvmm {
namespace {

Result<std::unique_ptr<NetBackend>> open_network(const NicSpec& spec,
                                                 const vmnet::SwitchEnvironment& environment) {
    switch (spec.net) {
        case NetKind::kUser:
            return open_user_backend(spec.user, spec.mac);
        case NetKind::kTap:
            // A virtio NIC's frames carry the virtio-net header through the TAP, so the
            // guest's checksum and segmentation offloads reach the host kernel as they are.
            return TapBackend::open(spec.net_name,
                                    TapOptions{.vnet_header = spec.model == NicModel::kVirtio});
        case NetKind::kStream:
            return StreamBackend::connect(spec.net_name, spec.reconnect);
        case NetKind::kStreamListen:
            return StreamBackend::listen(spec.net_name);
        case NetKind::kDgram:
            return DgramBackend::open(spec.net_name, spec.remote_path);
        case NetKind::kSwitch: {
            const vmnet::SwitchPaths paths =
                HVMM_TRY(vmnet::switch_paths(spec.net_name, environment));
            auto backend = StreamBackend::connect(paths.socket, spec.reconnect);
            if (!backend) {
                return fail("--nic: switch '{}': {}", spec.net_name, backend.error().message);
            }
            if (!(*backend)->link_up()) {
                // A switch that stops later takes the link down and the VM reconnects when it is
                // back; one that is not running at start is most likely a typo or a forgotten
                // start, and a VM without network would hide it.
                return fail("no switch '{}': start it with `hvmm switch start {}`", spec.net_name,
                            spec.net_name);
            }
            return std::move(*backend);
        }
        case NetKind::kSocketpair:
            return SocketpairBackend::create();
    }
    return fail("--nic: unknown network kind");
}

}  // namespace

Result<std::unique_ptr<NetBackend>> open_backend(const NicSpec& spec,
                                                 const vmnet::SwitchEnvironment& environment) {
    std::unique_ptr<NetBackend> backend = HVMM_TRY(open_network(spec, environment));
    // Whatever the network, the recorder sits between it and the NIC.
    if (spec.pcap_path) {
        PcapWriter writer = HVMM_TRY(PcapWriter::create(*spec.pcap_path));
        backend = std::make_unique<RecordingBackend>(std::move(backend), std::move(writer));
    }
    return backend;
}

}  // namespace hvmm
