# A syslog collector for tests: accepts TCP (or TLS) connections, reads RFC 6587 / RFC 5425
# octet-counted frames ("LEN SP MSG"), parses each as RFC 5424 and appends one JSON line
# per frame to OUT: {"ok", "tls", "pri", "version", "timestamp", "host", "app", "procid",
# "msgid", "sd": {SD-ID: {name: value}}, "msg", "error"}.  Writes its port to OUT.port.
#   syslog-recv.py OUT tcp|tls [CERT KEY]
import json, re, socket, ssl, sys, threading

out, mode = sys.argv[1], sys.argv[2]
ctx = None
if mode == "tls":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
lock = threading.Lock()
HEADER = re.compile(r"<(\d{1,3})>(\d{1,2}) (\S+) (\S+) (\S+) (\S+) (\S+) ")
PARAM = re.compile(r' ([^= \]"]{1,32})="((?:[^"\\\]]|\\["\\\]])*)"')

def parse_sd(s):
    """Structured data at the start of s; returns (dict, rest) or raises ValueError."""
    if s.startswith("-"):
        return {}, s[1:]
    sd = {}
    while s.startswith("["):
        m = re.match(r'\[([^= \]"]{1,32})', s)
        if not m:
            raise ValueError("bad SD-ID")
        sid, s = m.group(1), s[m.end():]
        params = {}
        while True:
            p = PARAM.match(s)
            if not p:
                break
            params[p.group(1)] = re.sub(r'\\(["\\\]])', r"\1", p.group(2))
            s = s[p.end():]
        if not s.startswith("]"):
            raise ValueError("unterminated SD-ELEMENT " + sid)
        sd[sid], s = params, s[1:]
    if not sd:
        raise ValueError("no structured data")
    return sd, s

def record(frame, tls):
    rec = {"ok": False, "tls": tls}
    try:
        text = frame.decode("utf-8")
        m = HEADER.match(text)
        if not m:
            raise ValueError("not an RFC 5424 header")
        rec.update(zip(("pri", "version", "timestamp", "host", "app", "procid", "msgid"),
                       m.groups()))
        sd, rest = parse_sd(text[m.end():])
        rec["sd"] = sd
        if rest.startswith(" "):
            rest = rest[1:]
        rec["msg"] = rest[3:] if rest.startswith("\ufeff") else rest
        rec["ok"] = rec["version"] == "1"
    except ValueError as e:
        rec["error"] = str(e)
        rec["raw"] = frame.decode("utf-8", "replace")
    with lock, open(out, "a") as f:
        f.write(json.dumps(rec) + "\n")

def serve(conn):
    tls = None
    try:
        if ctx is not None:
            conn = ctx.wrap_socket(conn, server_side=True)
            tls = conn.version()
        buf = b""
        while True:
            data = conn.recv(65536)
            if not data:
                break
            buf += data
            while True:
                m = re.match(rb"([1-9][0-9]*) ", buf)
                if not m:
                    if buf and not re.match(rb"[0-9]*$", buf):
                        record(b"", tls)  # framing error
                        buf = b""
                    break
                n = int(m.group(1))
                if len(buf) < m.end() + n:
                    break
                record(buf[m.end():m.end() + n], tls)
                buf = buf[m.end() + n:]
        if buf:
            with lock, open(out, "a") as f:
                f.write(json.dumps({"ok": False, "tls": tls, "error": "truncated frame"}) + "\n")
    except (OSError, ssl.SSLError) as e:
        with lock, open(out, "a") as f:
            f.write(json.dumps({"ok": False, "tls": tls, "error": str(e)}) + "\n")
    finally:
        conn.close()

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(16)
with open(out + ".port", "w") as f:
    f.write(str(srv.getsockname()[1]))
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
