// The switch's DHCP server: VMware's /24 layout, the DISCOVER/OFFER/REQUEST/ACK exchange,
// renewals, reservations, a full pool, release and decline, leases kept across a restart, and
// hostile frames dropped and counted.
#include "vmnet/dhcp_server.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "dhcp_test_client.h"

namespace hvmm::vmnet {
namespace {

using net::Ipv4Address;
using std::chrono::seconds;
using testing::client_frame;
using testing::ClientMessage;
using testing::read_reply;
using testing::Reply;
namespace opt = dhcp::option;

const WallTime kNow{seconds(1'800'000'000)};  // a fixed date in 2027
const Ipv4Address kServerIp = Ipv4Address::of(192, 168, 77, 254);
const Ipv4Address kGateway = Ipv4Address::of(192, 168, 77, 2);

Ipv4Address host(uint8_t n) {
    return Ipv4Address::of(192, 168, 77, n);
}
MacAddress client(uint32_t n) {
    return MacAddress{{0x52, 0x54, 0x00, uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)}};
}

DhcpServerConfig base_config() {
    DhcpServerConfig config;
    config.network = Ipv4Address::of(192, 168, 77, 0);
    return config;
}

DhcpServer make_server(DhcpServerConfig config = base_config()) {
    auto server = DhcpServer::create(std::move(config));
    EXPECT_TRUE(server) << server.error().message;
    return std::move(*server);
}

std::optional<Reply> send(DhcpServer& server, const ClientMessage& m, WallTime now = kNow) {
    const auto frame = server.handle(client_frame(m), now);
    if (!frame)
        return std::nullopt;
    auto reply = read_reply(*frame);
    EXPECT_TRUE(reply) << "the server's reply must parse";
    if (reply) {
        EXPECT_TRUE(reply->ip_checksum_ok);
        EXPECT_TRUE(reply->udp_checksum_ok);
        EXPECT_GE(reply->bootp_size, 300u);
        EXPECT_EQ(reply->xid, m.xid);
        EXPECT_EQ(reply->chaddr, m.mac);
    }
    return reply;
}

ClientMessage discover(MacAddress mac) {
    ClientMessage m;
    m.mac = mac;
    return m;
}

ClientMessage select(MacAddress mac, Ipv4Address address, Ipv4Address server = kServerIp) {
    ClientMessage m;
    m.type = 3;
    m.mac = mac;
    m.requested = address;
    m.server_id = server;
    return m;
}

ClientMessage renew(MacAddress mac, Ipv4Address address) {
    ClientMessage m;
    m.type = 3;
    m.mac = mac;
    m.ciaddr = m.ip_source = address;
    m.frame_destination = DhcpServerConfig{}.server_mac;
    m.ip_destination = kServerIp;
    return m;
}

ClientMessage release(MacAddress mac, Ipv4Address address) {
    ClientMessage m = renew(mac, address);
    m.type = 7;
    m.server_id = kServerIp;
    return m;
}

// DISCOVER then REQUEST: the address bound, or nothing.
std::optional<Ipv4Address> bind(DhcpServer& server, MacAddress mac, WallTime now = kNow) {
    const auto offer = send(server, discover(mac), now);
    if (!offer)
        return std::nullopt;
    const auto ack = send(server, select(mac, offer->yiaddr), now);
    if (!ack || ack->type() != 5)
        return std::nullopt;
    return ack->yiaddr;
}

TEST(VmnetDhcpServer, DiscoverGetsAnOfferFromThePoolWithTheNetworksOptions) {
    auto server = make_server();
    const auto offer = send(server, discover(client(1)));
    ASSERT_TRUE(offer);
    EXPECT_EQ(offer->type(), 2);
    EXPECT_EQ(offer->yiaddr, host(128));
    EXPECT_EQ(offer->ciaddr, Ipv4Address{});
    EXPECT_EQ(offer->ip_source, kServerIp);
    EXPECT_EQ(offer->address(opt::kServerIdentifier), kServerIp);
    EXPECT_EQ(offer->address(opt::kRouter), kGateway);
    EXPECT_EQ(offer->address(opt::kDnsServers), kGateway) << "DNS defaults to the gateway";
    EXPECT_EQ(offer->u32(opt::kSubnetMask), 0xFFFFFF00u);
    EXPECT_EQ(offer->address(opt::kBroadcastAddress), host(255));
    EXPECT_EQ(offer->u32(opt::kLeaseTime), 1800u);
    EXPECT_EQ(offer->u32(opt::kRenewalTime), 900u);
    EXPECT_EQ(offer->u32(opt::kRebindingTime), 1575u);
    EXPECT_EQ(server.counters().discovers, 1u);
    EXPECT_EQ(server.counters().offers, 1u);
}

TEST(VmnetDhcpServer, OfferIsUnicastToTheOfferedAddressWithoutTheBroadcastFlag) {
    auto server = make_server();
    const auto offer = send(server, discover(client(1)));
    ASSERT_TRUE(offer);
    EXPECT_EQ(offer->frame_destination, client(1));
    EXPECT_EQ(offer->ip_destination, host(128));
    EXPECT_EQ(offer->frame_source, server.config().server_mac);
}

TEST(VmnetDhcpServer, OfferIsBroadcastWhenTheClientAsks) {
    auto server = make_server();
    ClientMessage m = discover(client(1));
    m.flags = dhcp::kBroadcastFlag;
    const auto offer = send(server, m);
    ASSERT_TRUE(offer);
    EXPECT_EQ(offer->frame_destination, net::kBroadcastMac);
    EXPECT_EQ(offer->ip_destination, net::kIpv4Broadcast);
    EXPECT_EQ(offer->flags, dhcp::kBroadcastFlag);
}

TEST(VmnetDhcpServer, RequestForTheOfferedAddressIsAcked) {
    auto server = make_server();
    send(server, discover(client(1)));
    const auto ack = send(server, select(client(1), host(128)));
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->type(), 5);
    EXPECT_EQ(ack->yiaddr, host(128));
    EXPECT_EQ(ack->u32(opt::kLeaseTime), 1800u);
    const auto leases = server.leases(kNow);
    ASSERT_EQ(leases.size(), 1u);
    EXPECT_TRUE(leases[0].bound);
    EXPECT_EQ(leases[0].mac, client(1));
    EXPECT_EQ(leases[0].expires, kNow + seconds(1800));
}

TEST(VmnetDhcpServer, RequestForAnAddressNotOfferedIsNakedByBroadcast) {
    auto server = make_server();
    send(server, discover(client(1)));
    const auto nak = send(server, select(client(1), host(140)));
    ASSERT_TRUE(nak);
    EXPECT_EQ(nak->type(), 6);
    EXPECT_EQ(nak->yiaddr, Ipv4Address{});
    EXPECT_EQ(nak->frame_destination, net::kBroadcastMac);
    EXPECT_EQ(nak->ip_destination, net::kIpv4Broadcast);
    EXPECT_EQ(nak->address(opt::kServerIdentifier), kServerIp);
    EXPECT_FALSE(nak->u32(opt::kLeaseTime));
    EXPECT_EQ(server.counters().naks, 1u);
}

TEST(VmnetDhcpServer, RequestForAnAddressOutsideTheSubnetIsNaked) {
    auto server = make_server();
    ClientMessage m;
    m.type = 3;
    m.mac = client(1);
    m.requested = Ipv4Address::of(10, 0, 2, 15);  // INIT-REBOOT from another network
    const auto nak = send(server, m);
    ASSERT_TRUE(nak);
    EXPECT_EQ(nak->type(), 6);
}

TEST(VmnetDhcpServer, ClientChoosingAnotherServerIsNotAnsweredAndItsOfferWithdrawn) {
    auto server = make_server();
    send(server, discover(client(1)));
    EXPECT_FALSE(send(server, select(client(1), host(128), Ipv4Address::of(192, 168, 77, 1))));
    EXPECT_TRUE(server.leases(kNow).empty());
    EXPECT_EQ(server.counters().other_server, 1u);
}

TEST(VmnetDhcpServer, UnicastRenewalExtendsTheLeaseAndIsAnsweredToCiaddr) {
    auto server = make_server();
    ASSERT_EQ(bind(server, client(1)), host(128));
    const auto later = kNow + seconds(900);
    const auto ack = send(server, renew(client(1), host(128)), later);
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->type(), 5);
    EXPECT_EQ(ack->ciaddr, host(128));
    EXPECT_EQ(ack->yiaddr, host(128));
    EXPECT_EQ(ack->ip_destination, host(128));
    EXPECT_EQ(ack->frame_destination, client(1));
    EXPECT_EQ(server.leases(later).at(0).expires, later + seconds(1800));
}

TEST(VmnetDhcpServer, RebindingByBroadcastIsAcked) {
    auto server = make_server();
    ASSERT_EQ(bind(server, client(1)), host(128));
    ClientMessage m = renew(client(1), host(128));
    m.frame_destination = net::kBroadcastMac;
    m.ip_destination = net::kIpv4Broadcast;
    const auto ack = send(server, m, kNow + seconds(1600));
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->type(), 5);
}

TEST(VmnetDhcpServer, RenewalOfAnotherClientsAddressIsNaked) {
    auto server = make_server();
    ASSERT_EQ(bind(server, client(1)), host(128));
    const auto nak = send(server, renew(client(2), host(128)));
    ASSERT_TRUE(nak);
    EXPECT_EQ(nak->type(), 6);
    EXPECT_EQ(server.leases(kNow).at(0).mac, client(1)) << "the holder keeps its lease";
}

TEST(VmnetDhcpServer, RenewalAfterARestartWithoutLeasesIsAckedWhenTheAddressIsFree) {
    auto server = make_server();  // knows nothing of client 1's lease on .140
    const auto ack = send(server, renew(client(1), host(140)));
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->type(), 5);
    EXPECT_EQ(server.leases(kNow).at(0).address, host(140));
}

TEST(VmnetDhcpServer, ClientDiscoveringAgainIsOfferedTheAddressItHolds) {
    auto server = make_server();
    ASSERT_EQ(bind(server, client(1)), host(128));
    ASSERT_EQ(bind(server, client(2)), host(129));
    const auto offer = send(server, discover(client(1)), kNow + seconds(10));
    ASSERT_TRUE(offer);
    EXPECT_EQ(offer->yiaddr, host(128));
    EXPECT_TRUE(server.leases(kNow + seconds(10)).at(0).bound) << "an offer never unbinds";
}

TEST(VmnetDhcpServer, RequestedAddressIsOfferedWhenFree) {
    auto server = make_server();
    ClientMessage m = discover(client(1));
    m.requested = host(200);
    EXPECT_EQ(send(server, m)->yiaddr, host(200));
    m = discover(client(2));
    m.requested = host(200);  // now taken (offered): another is chosen
    EXPECT_EQ(send(server, m)->yiaddr, host(128));
    m.requested = host(50);  // outside the pool
    m.mac = client(3);
    EXPECT_EQ(send(server, m)->yiaddr, host(129));
}

TEST(VmnetDhcpServer, ReservedMacGetsItsAddressAndNoOneElseDoes) {
    auto config = base_config();
    config.reservations = {{client(7), host(50)}, {client(8), host(128)}};
    auto server = make_server(config);
    EXPECT_EQ(bind(server, client(7)), host(50));
    EXPECT_EQ(bind(server, client(1)), host(129)) << ".128 is client 8's even while it is away";
    ClientMessage m;
    m.type = 3;
    m.mac = client(2);
    m.requested = host(50);
    EXPECT_EQ(send(server, m)->type(), 6);
    m.mac = client(7);
    m.requested = host(140);  // a reserved client asking for another address is sent back
    EXPECT_EQ(send(server, m)->type(), 6);
    EXPECT_EQ(bind(server, client(8)), host(128));
}

TEST(VmnetDhcpServer, FullPoolGivesNoOfferAndCountsIt) {
    auto server = make_server();
    for (uint32_t i = 0; i < 126; ++i) {
        ASSERT_EQ(bind(server, client(i)), host(uint8_t(128 + i)));
    }
    EXPECT_FALSE(send(server, discover(client(999))));
    EXPECT_EQ(server.counters().pool_exhausted, 1u);
    EXPECT_EQ(server.leases(kNow).size(), 126u);
}

TEST(VmnetDhcpServer, PendingOffersAreTakenOverWhenThePoolIsFull) {
    auto server = make_server();
    for (uint32_t i = 0; i < 126; ++i) send(server, discover(client(i)), kNow + seconds(i % 10));
    const auto offer = send(server, discover(client(999)), kNow + seconds(20));
    ASSERT_TRUE(offer) << "offers are tentative: a DISCOVER flood cannot starve a client";
    EXPECT_EQ(offer->yiaddr, host(128)) << "the oldest offer goes";
    EXPECT_EQ(server.counters().offers_taken_over, 1u);
    // The client whose offer was taken is NAKed if it asks for it now.
    EXPECT_EQ(send(server, select(client(0), host(128)), kNow + seconds(21))->type(), 6);
}

TEST(VmnetDhcpServer, ReleasedAddressIsReusedByTheNextClient) {
    auto server = make_server();
    for (uint32_t i = 0; i < 126; ++i) ASSERT_TRUE(bind(server, client(i)));
    EXPECT_FALSE(server.handle(client_frame(release(client(40), host(168))), kNow));
    EXPECT_EQ(server.counters().releases, 1u);
    EXPECT_EQ(server.leases(kNow).size(), 125u);
    EXPECT_EQ(bind(server, client(999)), host(168));
}

TEST(VmnetDhcpServer, ReleaseByAClientNotHoldingTheAddressIsIgnored) {
    auto server = make_server();
    ASSERT_EQ(bind(server, client(1)), host(128));
    server.handle(client_frame(release(client(2), host(128))), kNow);
    EXPECT_EQ(server.leases(kNow).size(), 1u);
    EXPECT_EQ(server.counters().ignored, 1u);
}

TEST(VmnetDhcpServer, ReturningClientGetsItsReleasedAddressBack) {
    auto server = make_server();
    ASSERT_EQ(bind(server, client(1)), host(128));
    ASSERT_EQ(bind(server, client(2)), host(129));
    server.handle(client_frame(release(client(1), host(128))), kNow);
    EXPECT_EQ(bind(server, client(3)), host(130)) << "never-used addresses go first";
    EXPECT_EQ(bind(server, client(1)), host(128));
}

TEST(VmnetDhcpServer, ExpiredLeasesAreReclaimed) {
    auto config = base_config();
    config.lease_time = seconds(60);
    auto server = make_server(config);
    for (uint32_t i = 0; i < 126; ++i) ASSERT_TRUE(bind(server, client(i)));
    EXPECT_FALSE(send(server, discover(client(999)), kNow + seconds(59)));
    const auto offer = send(server, discover(client(999)), kNow + seconds(60));
    ASSERT_TRUE(offer);
    EXPECT_EQ(server.leases(kNow + seconds(60)).size(), 1u);
}

TEST(VmnetDhcpServer, ExpiredLeaseCanStillBeRenewedIfNoOneTookIt) {
    auto server = make_server();
    ASSERT_EQ(bind(server, client(1)), host(128));
    const auto ack = send(server, renew(client(1), host(128)), kNow + seconds(5000));
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->type(), 5);
}

TEST(VmnetDhcpServer, DeclinedAddressIsNotOfferedUntilTheHoldEnds) {
    auto server = make_server();
    ASSERT_EQ(bind(server, client(1)), host(128));
    ClientMessage m;
    m.type = 4;
    m.mac = client(1);
    m.requested = host(128);
    m.server_id = kServerIp;
    EXPECT_FALSE(server.handle(client_frame(m), kNow));
    EXPECT_EQ(server.counters().declines, 1u);
    EXPECT_EQ(send(server, discover(client(1)))->yiaddr, host(129));
    ClientMessage asking = discover(client(2));
    asking.requested = host(128);
    EXPECT_EQ(send(server, asking, kNow + seconds(599))->yiaddr, host(130)) << "still held";
    asking.mac = client(3);
    EXPECT_EQ(send(server, asking, kNow + seconds(601))->yiaddr, host(128));
}

TEST(VmnetDhcpServer, InformIsAnsweredWithOptionsAndNoLease) {
    auto server = make_server();
    ClientMessage m = renew(client(1), host(10));  // a statically configured host
    m.type = 8;
    const auto ack = send(server, m);
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->type(), 5);
    EXPECT_EQ(ack->yiaddr, Ipv4Address{});
    EXPECT_EQ(ack->ip_destination, host(10));
    EXPECT_FALSE(ack->u32(opt::kLeaseTime));
    EXPECT_EQ(ack->address(opt::kRouter), kGateway);
    EXPECT_TRUE(server.leases(kNow).empty());
}

TEST(VmnetDhcpServer, ConfiguredDnsAndDomainAreHandedOut) {
    auto config = base_config();
    config.dns = {Ipv4Address::of(9, 9, 9, 9), Ipv4Address::of(1, 1, 1, 1)};
    config.domain_name = "localdomain";
    config.lease_time = seconds(3600);
    auto server = make_server(config);
    const auto offer = send(server, discover(client(1)));
    ASSERT_TRUE(offer);
    EXPECT_EQ(offer->options.at(opt::kDnsServers), (std::vector<uint8_t>{9, 9, 9, 9, 1, 1, 1, 1}));
    EXPECT_EQ(offer->options.at(opt::kDomainName),
              (std::vector<uint8_t>{'l', 'o', 'c', 'a', 'l', 'd', 'o', 'm', 'a', 'i', 'n'}));
    EXPECT_EQ(offer->u32(opt::kLeaseTime), 3600u);
}

TEST(VmnetDhcpServer, AnswersArpForItsOwnAddressOnly) {
    auto server = make_server();
    auto arp_for = [&](Ipv4Address target) {
        const MacAddress c = client(1);
        std::vector<uint8_t> frame(6, 0xFF);
        frame.insert(frame.end(), c.bytes.begin(), c.bytes.end());
        frame.insert(frame.end(), {0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1});
        frame.insert(frame.end(), c.bytes.begin(), c.bytes.end());
        frame.insert(frame.end(), {192, 168, 77, 128, 0, 0, 0, 0, 0, 0});
        for (int i = 3; i >= 0; --i) frame.push_back(uint8_t(target.value >> (8 * i)));
        return server.handle(frame, kNow);
    };
    const auto reply = arp_for(kServerIp);
    ASSERT_TRUE(reply);
    EXPECT_EQ(std::vector<uint8_t>(reply->begin() + 22, reply->begin() + 28),
              std::vector<uint8_t>(server.config().server_mac.bytes.begin(),
                                   server.config().server_mac.bytes.end()));
    EXPECT_FALSE(arp_for(kGateway));
    EXPECT_EQ(server.counters().arp_replies, 1u);
    EXPECT_EQ(server.counters().not_for_server, 1u);
}

TEST(VmnetDhcpServer, MalformedFramesAreDroppedAndCountedNeverAnswered) {
    auto server = make_server();
    std::vector<std::vector<uint8_t>> frames;
    ClientMessage m;
    m.magic_cookie = false;
    frames.push_back(client_frame(m));
    m = ClientMessage{};
    m.end_option = false;
    frames.push_back(client_frame(m));
    m.extra_options = {12, 250, 'x'};
    frames.push_back(client_frame(m));
    m = ClientMessage{};
    m.padding = 2000;
    frames.push_back(client_frame(m));
    const auto whole = client_frame(ClientMessage{});
    frames.emplace_back(whole.begin(), whole.begin() + 100);
    for (const auto& frame : frames) EXPECT_FALSE(server.handle(frame, kNow));
    const auto& c = server.counters();
    EXPECT_EQ(c.drops(dhcp::Drop::kNoMagicCookie), 1u);
    EXPECT_EQ(c.drops(dhcp::Drop::kNoEndOption), 1u);
    EXPECT_EQ(c.drops(dhcp::Drop::kOptionOverrun), 1u);
    EXPECT_EQ(c.drops(dhcp::Drop::kOversize), 1u);
    EXPECT_EQ(c.drops(dhcp::Drop::kTruncated), 1u);
    EXPECT_EQ(c.total_dropped(), 5u);
    EXPECT_EQ(c.offers, 0u);
    EXPECT_TRUE(server.leases(kNow).empty());
}

TEST(VmnetDhcpServer, RequestWithNeitherAddressNorServerIsDropped) {
    auto server = make_server();
    ClientMessage m;
    m.type = 3;
    EXPECT_FALSE(server.handle(client_frame(m), kNow));
    EXPECT_EQ(server.counters().drops(dhcp::Drop::kBadOption), 1u);
}

TEST(VmnetDhcpServer, LeasesSurviveARestartThroughJson) {
    auto server = make_server();
    ASSERT_EQ(bind(server, client(1)), host(128));
    ASSERT_EQ(bind(server, client(2)), host(129));
    send(server, discover(client(3)));  // only offered: not saved
    const std::string json = server.leases_json(kNow);

    auto restarted = make_server();
    const auto report = restarted.load_leases_json(json, kNow + seconds(100));
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_EQ(report->restored, 2u);
    EXPECT_EQ(report->skipped, 0u);
    const auto leases = restarted.leases(kNow + seconds(100));
    ASSERT_EQ(leases.size(), 2u);
    EXPECT_EQ(leases[0].expires, kNow + seconds(1800)) << "the same end date, not a new lease";
    EXPECT_EQ(send(restarted, discover(client(2)), kNow + seconds(100))->yiaddr, host(129));
    EXPECT_EQ(send(restarted, discover(client(4)), kNow + seconds(100))->yiaddr, host(130));
}

TEST(VmnetDhcpServer, LeasesFileRoundTripsAndAMissingFileIsNoLeases) {
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("hvmm-dhcp-test-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "leases.json").string();
    auto server = make_server();
    ASSERT_EQ(bind(server, client(1)), host(128));
    ASSERT_TRUE(server.save_leases_file(path, kNow));
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

    auto restarted = make_server();
    const auto report = restarted.load_leases_file(path, kNow);
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_EQ(report->restored, 1u);
    const auto none = restarted.load_leases_file((dir / "absent.json").string(), kNow);
    ASSERT_TRUE(none);
    EXPECT_EQ(none->restored, 0u);
    std::filesystem::remove_all(dir);
}

TEST(VmnetDhcpServer, LeasesLoadSkipsEntriesThatAreNotValidHere) {
    auto config = base_config();
    config.reservations = {{client(9), host(150)}};
    auto server = make_server(config);
    const int64_t later = 1'800'000'600;
    const std::string json = R"({"version":1,"network":"192.168.77.0/24","leases":[
        {"mac":"52:54:00:00:00:01","address":"192.168.77.128","expires":)" +
                             std::to_string(later) + R"(},
        {"mac":"52:54:00:00:00:02","address":"192.168.77.129","expires":1000},
        {"mac":"52:54:00:00:00:03","address":"10.0.2.15","expires":)" +
                             std::to_string(later) + R"(},
        {"mac":"52:54:00:00:00:04","address":"192.168.77.128","expires":)" +
                             std::to_string(later) + R"(},
        {"mac":"52:54:00:00:00:05","address":"192.168.77.150","expires":)" +
                             std::to_string(later) + R"(},
        {"mac":"01:00:5e:00:00:01","address":"192.168.77.131","expires":)" +
                             std::to_string(later) + R"(},
        {"mac":"52:54:00:00:00:06","address":"192.168.77.132","expires":"soon"},
        {"mac":"52:54:00:00:00:07","address":"192.168.77.50","expires":)" +
                             std::to_string(later) + R"(},
        ["not", "an", "object"],
        {"mac":"52:54:00:00:00:08","address":"192.168.77.133","expires":99999999999999}
    ]})";
    const auto report = server.load_leases_json(json, kNow);
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_EQ(report->restored, 1u);
    EXPECT_EQ(report->skipped, 9u);
    EXPECT_EQ(server.leases(kNow).at(0).mac, client(1));
}

TEST(VmnetDhcpServer, LeaseFromAFileIsNeverLongerThanOneGivenNow) {
    auto server = make_server();
    const std::string json =
        R"({"version":1,"leases":[{"mac":"52:54:00:00:00:01","address":"192.168.77.128",)"
        R"("expires":1900000000}]})";
    ASSERT_EQ(server.load_leases_json(json, kNow)->restored, 1u);
    EXPECT_EQ(server.leases(kNow).at(0).expires, kNow + seconds(1800));
}

TEST(VmnetDhcpServer, DamagedLeasesFileIsAnErrorAndTakesNothing) {
    auto server = make_server();
    for (const std::string& text :
         {std::string("not json"), std::string("[1,2]"),
          std::string(R"({"version":2,"leases":[]})"), std::string(R"({"version":1})"),
          std::string(R"({"version":1,"leases":{}})"), std::string(R"({"version":1,"leases":[)"),
          std::string(DhcpServer::kMaxLeasesText + 1, ' ')}) {
        EXPECT_FALSE(server.load_leases_json(text, kNow)) << text.substr(0, 40);
    }
    EXPECT_TRUE(server.leases(kNow).empty());
}

TEST(VmnetDhcpServer, DeeplyNestedLeasesFileIsRefusedWithoutExhaustingTheStack) {
    auto server = make_server();
    const std::string nested = std::string(400000, '[') + std::string(400000, ']');
    EXPECT_FALSE(server.load_leases_json(nested, kNow));
    const std::string open_only(DhcpServer::kMaxLeasesText, '{');
    EXPECT_FALSE(server.load_leases_json(open_only, kNow));
}

TEST(VmnetDhcpServer, ConfigurationThatCannotWorkIsRefused) {
    auto expect_refused = [](DhcpServerConfig config, const char* why) {
        EXPECT_FALSE(DhcpServer::create(std::move(config))) << why;
    };
    auto c = base_config();
    c.network = Ipv4Address::of(192, 168, 77, 5);
    expect_refused(c, "not the start of a /24");
    c = base_config();
    c.network = Ipv4Address::of(224, 0, 0, 0);
    expect_refused(c, "multicast network");
    c = base_config();
    c.lease_time = seconds(10);
    expect_refused(c, "lease too short");
    c = base_config();
    c.reservations = {{client(1), host(1)}};
    expect_refused(c, "reservation on the host side");
    c.reservations = {{client(1), host(254)}};
    expect_refused(c, "reservation on the server");
    c.reservations = {{client(1), Ipv4Address::of(10, 0, 0, 5)}};
    expect_refused(c, "reservation outside the subnet");
    c.reservations = {{client(1), host(10)}, {client(1), host(11)}};
    expect_refused(c, "one MAC reserved twice");
    c.reservations = {{client(1), host(10)}, {client(2), host(10)}};
    expect_refused(c, "one address reserved twice");
    c.reservations = {{net::kBroadcastMac, host(10)}};
    expect_refused(c, "group MAC");
    c = base_config();
    c.domain_name = "bad domain";
    expect_refused(c, "space in the domain");
    c = base_config();
    c.dns = std::vector<Ipv4Address>(9, kGateway);
    expect_refused(c, "too many DNS servers");
}

TEST(VmnetDhcpServer, OtherTrafficIsCountedButNotAsDrops) {
    auto server = make_server();
    std::vector<uint8_t> ipv6(60, 0);
    ipv6[12] = 0x86;
    ipv6[13] = 0xDD;
    EXPECT_FALSE(server.handle(ipv6, kNow));
    EXPECT_EQ(server.counters().not_for_server, 1u);
    EXPECT_EQ(server.counters().total_dropped(), 0u);
    EXPECT_EQ(server.counters().frames, 1u);
}

}  // namespace
}  // namespace hvmm::vmnet
