# devlog-listener.py SECONDS OUT - binds /dev/log (absent on this machine) and writes every
# syslog datagram it receives to OUT, one per line, until SECONDS pass with none; then
# removes /dev/log.  Lets corrupt-mount.sh see what a background xfsfuse logs.
import socket, os, sys
p = "/dev/log"
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(p)
s.settimeout(float(sys.argv[1]))
out = open(sys.argv[2], "w")
try:
    while True:
        out.write(s.recv(4096).decode(errors="replace") + "\n"); out.flush()
except socket.timeout: pass
finally: os.unlink(p)
