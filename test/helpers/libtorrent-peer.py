#!/usr/bin/python3
# libtorrent (Debian's python3-libtorrent 2.0) as the other side of our BEP 52
# interop tests, on 127.0.0.1 only: no DHT, LSD, UPnP or NAT-PMP.
#
#   libtorrent-peer.py create <v2|hybrid> <folder> <out.torrent> <piece length>
#       makes a torrent of <folder> (its parent is the save path) and exits.
#   libtorrent-peer.py seed <torrent> <save path>
#       seeds it; prints "port <n>" once listening and ready (files checked).
#   libtorrent-peer.py download <torrent> <save path> <peer host:port>
#       downloads it from that peer only; prints "done" once it is seeding.
# Every alert that names an error goes to stderr. Runs until killed (seed) or
# done (download); exits 1 with a line on stderr on anything unexpected.
import os
import sys
import time

import libtorrent as lt


def settings():
    return {
        'enable_dht': False,
        'enable_lsd': False,
        'enable_upnp': False,
        'enable_natpmp': False,
        'listen_interfaces': '127.0.0.1:0',
        'allow_multiple_connections_per_ip': True,
        'alert_mask': lt.alert.category_t.error_notification | lt.alert.category_t.status_notification | lt.alert.category_t.peer_notification,
        # loopback: no rate limits for local peers, and no waiting for other swarms
        'rate_limit_ip_overhead': False,
        'enable_incoming_utp': False,
        'enable_outgoing_utp': False,
    }


def create(mode, folder, out, piece_length):
    fs = lt.file_storage()
    lt.add_files(fs, folder)
    flags = lt.create_torrent.v2_only if mode == 'v2' else 0
    ct = lt.create_torrent(fs, int(piece_length), flags=flags)
    lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(folder)))
    with open(out, 'wb') as f:
        f.write(lt.bencode(ct.generate()))


def drain(ses):
    for a in ses.pop_alerts():
        if a.category() & lt.alert.category_t.error_notification or isinstance(a, lt.peer_disconnected_alert):
            sys.stderr.write('libtorrent: %s\n' % a.message())


def wait_state(ses, h, states, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        drain(ses)
        if h.status().state in states:
            return True
        time.sleep(0.05)
    return False


def seed(torrent, save_path):
    ses = lt.session(settings())
    h = ses.add_torrent({'ti': lt.torrent_info(torrent), 'save_path': save_path})
    if not wait_state(ses, h, (lt.torrent_status.seeding,), 60):
        sys.stderr.write('libtorrent: not seeding after its check: %s\n' % h.status().state)
        sys.exit(1)
    print('port %d' % ses.listen_port(), flush=True)
    while True:
        drain(ses)
        time.sleep(0.2)


def download(torrent, save_path, peer):
    ses = lt.session(settings())
    h = ses.add_torrent({'ti': lt.torrent_info(torrent), 'save_path': save_path})
    host, port = peer.rsplit(':', 1)
    h.connect_peer((host, int(port)))
    deadline = time.time() + 120
    while time.time() < deadline:
        drain(ses)
        s = h.status()
        if s.state == lt.torrent_status.seeding:
            print('done', flush=True)
            return
        if s.num_peers == 0:
            h.connect_peer((host, int(port)))
        time.sleep(0.1)
    sys.stderr.write('libtorrent: download not done in 120 s (progress %.3f)\n' % h.status().progress)
    sys.exit(1)


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ''
    if cmd == 'create' and len(sys.argv) == 6:
        create(*sys.argv[2:])
    elif cmd == 'seed' and len(sys.argv) == 4:
        seed(*sys.argv[2:])
    elif cmd == 'download' and len(sys.argv) == 5:
        download(*sys.argv[2:])
    else:
        sys.stderr.write('usage: libtorrent-peer.py create <v2|hybrid> <folder> <out> <piece length> | seed <torrent> <save> | download <torrent> <save> <host:port>\n')
        sys.exit(2)


if __name__ == '__main__':
    main()
