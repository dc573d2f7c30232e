# An SMTP server for tests, built on Debian's aiosmtpd (python3-aiosmtpd): accepts every
# message and appends one JSON line per message to OUT: {"tls": the TLS version the message
# came over or null, "from", "to", "data"}.  Writes its port to OUT.port.
#   smtp-recv.py OUT plain|starttls|smtps [CERT KEY]
# starttls: offers STARTTLS and refuses mail before it; smtps: TLS from the first byte.
import asyncio, json, ssl, sys
from aiosmtpd.smtp import SMTP

out, mode = sys.argv[1], sys.argv[2]
ctx = None
if mode != "plain":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])

class Handler:
    async def handle_DATA(self, server, session, envelope):
        obj = None
        if session.ssl:
            obj = session.ssl.get("ssl_object")
        if obj is None and server.transport is not None:
            obj = server.transport.get_extra_info("ssl_object")
        tls = obj.version() if obj is not None else None
        with open(out, "a") as f:
            f.write(json.dumps({"tls": tls, "from": envelope.mail_from,
                                "to": envelope.rcpt_tos,
                                "data": envelope.content.decode("utf-8", "replace")}) + "\n")
        return "250 OK"

async def main():
    loop = asyncio.get_running_loop()
    handler = Handler()
    if mode == "starttls":
        factory = lambda: SMTP(handler, tls_context=ctx, require_starttls=True, hostname="localhost")
        server = await loop.create_server(factory, "127.0.0.1", 0)
    elif mode == "smtps":
        factory = lambda: SMTP(handler, hostname="localhost")
        server = await loop.create_server(factory, "127.0.0.1", 0, ssl=ctx)
    else:
        factory = lambda: SMTP(handler, hostname="localhost")
        server = await loop.create_server(factory, "127.0.0.1", 0)
    with open(out + ".port", "w") as f:
        f.write(str(server.sockets[0].getsockname()[1]))
    await server.serve_forever()

asyncio.run(main())
