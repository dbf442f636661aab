#!/usr/bin/env python3
"""Write an assembler file that embeds INPUT as symbols NAME_start / NAME_end."""
import os
import sys

name, src, out = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
with open(out, "w", encoding="ascii") as f:
    f.write(f"""\t.section .rodata.{name}, "a"
\t.balign 4096
\t.globl {name}_start
{name}_start:
\t.incbin "{src}"
\t.globl {name}_end
{name}_end:
\t.section .note.GNU-stack, "", @progbits
""")
