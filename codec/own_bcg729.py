#!/usr/bin/env python3
"""own_bcg729.py IN.a OUT.a: a copy of Debian's libbcg729.a for rtpgate.

- calloc() and free() become codec_g729_calloc() and codec_g729_free(), so
  bcg729's channel state goes where codec/g729.c places it;
- every symbol the archive defines gets the prefix bcg729_ unless its name
  already says bcg729 (the public API): linked statically, bcg729's own
  function names (computeLP, LPSynthesisFilter, ...) then neither clash
  with anything else in the program nor hide from rtpgate-bench's profile,
  which counts a sample as codec work by its symbol's prefix.
"""
import os
import subprocess
import sys
import tempfile


def symbols(archive):
    """(type, name) of every symbol in the archive's members."""
    out = subprocess.run(["nm", archive], check=True,
                         capture_output=True, text=True).stdout
    syms = []
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3:
            syms.append((f[1], f[2]))
        elif len(f) == 2 and f[0] == "U":
            syms.append(("U", f[1]))
    return syms


def main():
    src, dst = sys.argv[1], sys.argv[2]
    names = {n for t, n in symbols(src) if t != "U" and "bcg729" not in n.lower()}
    lines = ["calloc codec_g729_calloc", "free codec_g729_free"]
    lines += ["%s bcg729_%s" % (n, n) for n in sorted(names)]
    with tempfile.NamedTemporaryFile("w", suffix=".syms", delete=False) as m:
        m.write("\n".join(lines) + "\n")
    try:
        subprocess.run(["objcopy", "--redefine-syms=" + m.name, src, dst], check=True)
    finally:
        os.unlink(m.name)
    # the copy must take nothing from malloc and name only its own
    for t, n in symbols(dst):
        if (t == "U" and n in ("malloc", "calloc", "realloc", "free")) or \
           (t != "U" and "bcg729" not in n.lower()):
            os.unlink(dst)
            sys.exit("own_bcg729.py: %s still has %s %s" % (dst, t, n))


if __name__ == "__main__":
    main()
