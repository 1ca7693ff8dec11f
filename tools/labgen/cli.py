"""labgen's command line (see __init__.py)."""

import argparse
import os
import sys

from .common import DEFAULT_ROOT, LabgenError, tree_name
from .files import untracked_files
from .plan import generate
from .source import Source, write_tree


def main(argv=None):
    ap = argparse.ArgumentParser(description="Student branches from the marked reference tree "
                                 "(see tools/labgen/README.md).")
    ap.add_argument("--root", default=DEFAULT_ROOT, help="the reference tree (default: this repository)")
    ap.add_argument("--check", action="store_true", help="check the markers, then exit")
    ap.add_argument("--out", metavar="DIR", help="create or update the student repository DIR")
    ap.add_argument("--keep-history", action="store_true",
                    help="with --out: commit changed trees on top of the existing branches "
                    "(for branches already published) instead of replacing them")
    ap.add_argument("--render", type=int, metavar="N", help="write the tree for lab N to --out-tree")
    ap.add_argument("--out-tree", metavar="DIR", help="with --render: an empty or new folder")
    kind = ap.add_mutually_exclusive_group()
    kind.add_argument("--carry", action="store_true", help="with --render: the carry-forward tree")
    kind.add_argument("--solved", action="store_true",
                      help="with --render: labs 1..N solved (a finished lab N)")
    args = ap.parse_args(argv)
    if sum(bool(x) for x in (args.check, args.out, args.render is not None)) != 1:
        ap.error("give exactly one of --check, --out DIR, --render N")

    def log(msg):
        print(msg, flush=True)

    try:
        src = Source(args.root)
        if args.check:
            errors = src.check()
            for e in errors:
                print(e)
            untracked = untracked_files(src.root)
            if untracked:
                print("note: %d untracked file(s) are not published (git add them to publish): %s"
                      % (len(untracked), " ".join(untracked[:10]) +
                         (" ..." if len(untracked) > 10 else "")))
            nregions = sum(len(f.marker_labs()) for f in src.files)
            print("labgen: %d file(s), %d marker(s), labs %s: %s"
                  % (len(src.files), nregions, ",".join(map(str, sorted(src.labs))) or "none",
                     "%d error(s)" % len(errors) if errors else "OK"))
            return 1 if errors else 0
        if args.out:
            return generate(src, args.out, keep_history=args.keep_history, log=log)
        if not args.out_tree:
            ap.error("--render needs --out-tree DIR")
        if args.render not in src.labs:
            raise LabgenError("no lab %d (labs: %s)" % (args.render, sorted(src.labs)))
        errors = src.check()
        for e in errors:
            print(e)
        k = "carry" if args.carry else ("solved" if args.solved else "catchup")
        tree = src.render(k, args.render)
        if k != "solved":
            leaks = src.leaks(k, args.render, tree)
            for l in leaks:
                print(l)
            if leaks:
                raise LabgenError("%d solution line(s) would leak; nothing written" % len(leaks))
        if os.path.exists(args.out_tree) and os.listdir(args.out_tree):
            raise LabgenError("%s is not empty" % args.out_tree)
        write_tree(tree, args.out_tree)
        print("%s: %d files -> %s" % (tree_name(k, args.render), len(tree), args.out_tree))
        return 1 if errors else 0
    except LabgenError as e:
        print("labgen: error: %s" % e, file=sys.stderr)
        return 1
