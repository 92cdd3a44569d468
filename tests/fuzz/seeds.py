#!/usr/bin/python3
"""Writes worst-case seed inputs for one libFuzzer driver of tests/fuzz.

    tests/fuzz/seeds.py fuzz_json DIR

tools/test.sh runs each driver on its own corpus plus these seeds, with
-max_len at the input's real cap and a -timeout, so that the fuzzer starts
from the most expensive inputs that fit (issue 8: a flat body of 110,000
keys took 24 s) and a slow one is reported as a failure instead of passing
unnoticed.  The caps: request bodies 1 MiB (max_body_bytes, nginx's
client_max_body_size), the request line and each header 8 KiB (nginx's
large_client_header_buffers 4 8k).
"""
import os
import sys

BODY_CAP = 1024 * 1024
HEADER_CAP = 8192
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def key(i):
    """The shortest distinct keys: i in base 36."""
    s = ""
    while True:
        s = DIGITS[i % 36] + s
        i //= 36
        if i == 0:
            return s


def flat_object(cap, max_members):
    parts, size = [], 2
    for i in range(max_members):
        member = '"%s":0' % key(i)
        if size + len(member) + 1 > cap:
            break
        parts.append(member)
        size += len(member) + 1
    return "{" + ",".join(parts) + "}"


def json_seeds():
    yield "flat-1mib", flat_object(BODY_CAP, 1 << 30)
    yield "flat-1000", flat_object(BODY_CAP, 1000)
    members, objs = 999, 9
    klen = BODY_CAP // (objs * members) - 8
    prefix = "p" * (klen - 4)
    obj = "{" + ",".join('"%s%04d":%d' % (prefix, members - i, i)
                         for i in range(members)) + "}"
    yield "long-keys", '{"a":[' + ",".join([obj] * objs) + "]}"
    yield "escapes", '{"s":"' + "\\u00e9" * ((BODY_CAP - 8) // 6) + '"}'
    yield "zeros", '{"a":[' + ",".join(["0"] * ((BODY_CAP - 8) // 2)) + "]}"
    yield "numbers", "[" + ",".join(
        "[" + ",".join("1.%028de1" % i for _ in range(9)) + "]"
        for i in range(999)) + "]"
    yield "deep", "[" * 32 + ",".join(['"x"'] * 1000) + "]" * 32
    yield "open-brackets", "[" * BODY_CAP


def query_seeds():
    yield "many-params", ("&a=1" * (HEADER_CAP // 4))[1:]
    yield "escaped-values", "&".join(
        "k%d=%s" % (i, "%C3%A9" * 9) for i in range(100))
    yield "long-path", "/a" * (2048 // 2)
    yield "escaped-path", "%2Fcustomers%2F1%2Fcomments%2F" + "%31" * 600
    yield "ids", "/customers/9223372036854775807/comments/9223372036854775807"


def jwt_seeds():
    yield "header-line", "A" * HEADER_CAP
    yield "dots", "." * 1023
    yield "long-header", "e" * 1021 + ".."


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: seeds.py DRIVER DIR")
    gen = {"fuzz_json": json_seeds, "fuzz_query": query_seeds,
           "fuzz_jwt": jwt_seeds}.get(sys.argv[1])
    os.makedirs(sys.argv[2], exist_ok=True)
    if gen is None:
        return
    for name, text in gen():
        with open(os.path.join(sys.argv[2], name), "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
