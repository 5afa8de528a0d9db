#!/usr/bin/env python3
"""Estimate the deepest stack use of the firmware's tasks and interrupt handlers.

Reads `llvm-objdump -d` of the ELF: each function's frame (its `addi sp, sp, -N`, or the
`lui`/`addi`/`sub sp` sequence of a large frame) and its direct calls (`auipc`+`jalr`, `jal`,
tail `j`), then follows the deepest chain. Calls through function pointers (dyn Trait, the
executor's task table) are not followed and recursion is cut, so this is an estimate of a
lower bound, good for comparing builds and spotting large frames, not a guarantee.

usage: stack.py OBJDUMP ELF [--frames]
  --frames: also list each function's own frame on the deepest path
"""
import re
import subprocess
import sys

objdump, elf = sys.argv[1], sys.argv[2]
frames = "--frames" in sys.argv[3:]
text = subprocess.run([objdump, "-d", "-C", "--no-show-raw-insn", elf],
                      capture_output=True, text=True, check=True).stdout

funcs, cur = {}, None
for line in text.splitlines():
    m = re.match(r"^([0-9a-f]+) <(.*)>:", line)
    if m:
        if m.group(2).startswith(".L") and cur is not None:
            continue
        cur = int(m.group(1), 16)
        funcs[cur] = {"name": m.group(2), "frame": 0, "calls": set(), "regs": {}}
        continue
    m = re.match(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$", line)
    if cur is None or not m:
        continue
    f, addr, op, args = funcs[cur], int(m.group(1), 16), m.group(2), m.group(3)
    a = [x.strip() for x in args.split(",")]
    if op == "addi" and len(a) == 3:
        if a[0] == "sp" and a[1] == "sp" and int(a[2], 0) < 0:
            f["frame"] += -int(a[2], 0)
        elif a[1] in f["regs"]:
            f["regs"][a[0]] = f["regs"][a[1]] + int(a[2], 0)
    elif op == "lui" and len(a) == 2:
        f["regs"][a[0]] = int(a[1], 0) << 12
    elif op == "sub" and len(a) == 3 and a[0] == "sp" and a[1] == "sp" and a[2] in f["regs"]:
        f["frame"] += f["regs"][a[2]]
    elif op == "auipc" and len(a) == 2:
        imm = int(a[1], 0)
        if imm >= 0x80000:
            imm -= 0x100000
        f["regs"]["auipc:" + a[0]] = (addr + (imm << 12)) & 0xFFFFFFFF
    elif op == "jalr":
        mm = re.match(r"(-?(?:0x[0-9a-f]+|\d+))\((\w+)\)", a[-1])
        if mm and "auipc:" + mm.group(2) in f["regs"]:
            f["calls"].add((f["regs"]["auipc:" + mm.group(2)] + int(mm.group(1), 0)) & 0xFFFFFFFF)
    elif op in ("jal", "j"):
        mm = re.search(r"0x([0-9a-f]+)", args)
        if mm and (op == "jal" or "<.L" not in args):
            f["calls"].add(int(mm.group(1), 16))

sys.setrecursionlimit(100000)
memo = {}


def deepest(addr, path=()):
    if addr in memo:
        return memo[addr]
    if addr not in funcs or addr in path:
        return 0, []
    f = funcs[addr]
    best = (0, [])
    for c in f["calls"]:
        d = deepest(c, path + (addr,))
        if d[0] > best[0]:
            best = d
    result = (f["frame"] + best[0], [f["name"]] + best[1])
    memo[addr] = result
    return result


roots = [a for a, f in funcs.items()
         if re.search(r"TaskStorage.*::poll|^handle_interrupts$", f["name"])]
def tidy(name):
    """Undo the legacy mangling escapes llvm-objdump -C leaves, drop the hash."""
    for a, b in (("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$C$", ","), ("$u7b$", "{"),
                 ("$u7d$", "}"), ("$RF$", "&"), ("$BP$", "*"), ("..", "::")):
        name = name.replace(a, b)
    return re.sub(r"::h[0-9a-f]{16}$", "", name)


def short(name):
    """The last two path segments, outside any generic arguments."""
    depth, cut = 0, []
    for i, ch in enumerate(name):
        depth += ch == "<"
        depth -= ch == ">"
        if depth == 0 and name[i:i + 2] == "::":
            cut.append(i)
    start = cut[-2] + 2 if len(cut) >= 2 else 0
    return name[start:][:60]


rows = sorted(((deepest(a), a) for a in roots), key=lambda r: -r[0][0])
for (depth, path), _ in rows[:6]:
    names = [tidy(n) for n in path]
    # Skip the panic path (it only runs once, to print a backtrace) in the shown chain.
    chain = " > ".join(short(n) for n in names[:9])
    print(f"{depth:>7}  {chain}")
if frames:
    by_name = {f["name"]: f["frame"] for f in funcs.values()}
    for (depth, path), _ in rows[:3]:
        print(f"frames of the {depth}-byte path:")
        for n in path[:10]:
            print(f"{by_name.get(n, 0):>7}  {short(tidy(n))}")
