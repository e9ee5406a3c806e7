"""`airetouch token`: where the bridge's bearer token is kept; --show prints it, --rotate replaces it."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("token", help="show where the server's bearer token is kept (and the token with --show)",
                       description="The bridge token is created on the server's first start and kept in the OS "
                                   "keyring (where one exists) and in a file readable only by you, which the "
                                   "Lightroom plugin reads.")
    p.add_argument("--show", action="store_true", help="print the token itself")
    p.add_argument("--rotate", action="store_true",
                   help="replace the token (restart the server; the plugin reads the new one from the file)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..service.security import load_or_create_token, rotate_token
    info = rotate_token() if args.rotate else load_or_create_token()
    where = "token file and OS keyring" if info.in_keyring else "token file (no OS keyring available)"
    print(f"token file: {info.file}")
    print(f"kept in: {where}")
    if info.created:
        print("a new token was created" + ("; restart the server to use it" if args.rotate else ""))
    if args.show:
        print(info.token)
    return 0
