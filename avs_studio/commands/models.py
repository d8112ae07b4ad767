"""`models list | download NAME... | verify [NAME] | import PATH | info NAME`: the registry and the cache."""

from __future__ import annotations

import json

from avs_studio.commands.common import add_json, print_json
from avs_studio.progress import Bar


def register(sub) -> None:
    p = sub.add_parser("models", help="list, download, verify and import model weights")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION")

    q = msub.add_parser("list", help="registered models and whether they are in the cache")
    add_json(q, '{"cache": .., "models": [{"name", "kind", "size_mb", "cached", ...}]}')
    q.set_defaults(func=cmd_list)

    q = msub.add_parser(
        "download",
        help="download models into the cache (resumes a partial download; checks every file's sha256)",
    )
    q.add_argument("names", nargs="+", metavar="NAME", help="registered model name (see `models list`)")
    q.add_argument(
        "--allow-unverified",
        action="store_true",
        help="also download files the registry has no sha256 for (their hashes go into the manifest)",
    )
    add_json(q, '{"models": [{"name", "path", "downloaded", "commit"}]}')
    q.set_defaults(func=cmd_download)

    q = msub.add_parser("verify", help="re-hash cached files against the registry")
    q.add_argument("name", nargs="?", help="one model (default: every cached model)")
    q.add_argument("--record", action="store_true", help="print registry lines with the computed checksums")
    add_json(q, '{"models": {NAME: [{"path", "status", "sha256", "size", "note"}]}}')
    q.set_defaults(func=cmd_verify)

    q = msub.add_parser(
        "import",
        help="copy a downloaded model folder or file into the cache, after checking its hashes",
        description="PATH: a model folder from another machine's cache, a Hugging Face cache folder "
        "(models--ORG--NAME or its snapshots/COMMIT), an `hf download --local-dir` folder, a folder with "
        "the model's files, or a single checkpoint file (e.g. sam_vit_b_01ec64.pth, tiny.pt).",
    )
    q.add_argument("path", metavar="PATH", help="folder or file to import")
    q.add_argument("--name", help="the registered model it is (default: recognised from the files)")
    q.add_argument("--allow-unverified", action="store_true", help="accept files with no registered sha256")
    add_json(q)
    q.set_defaults(func=cmd_import)

    q = msub.add_parser("info", help="where a cached model came from: repo, commit, files and hashes")
    q.add_argument("name", help="registered model name")
    add_json(q, "the provenance")
    q.set_defaults(func=cmd_info)

    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _mb(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value / 1024:.1f} GB" if value >= 1024 else f"{value:.0f} MB"


def cmd_list(args) -> int:
    from avs_studio.openavs import weights

    reg = weights.load_registry()
    if args.json:
        rows = [
            {"name": name, "kind": spec.kind, "size_mb": spec.size_mb, "vram_mb": spec.vram_mb,
             "license": spec.license, "cached": weights.cache_state(spec), "gated": spec.gated,
             "unverified_files": list(spec.unverified_files())}
            for name, spec in reg.items()
        ]  # fmt: skip
        print_json({"cache": str(weights.cache_dir()), "offline": weights.offline(), "models": rows})
        return 0
    print(f"cache: {weights.cache_dir()}" + ("  (offline)" if weights.offline() else ""))
    head = f"{'name':22}  {'kind':15}  {'size':>8}  {'VRAM':>8}  {'licence':13}  cached"
    print(head)
    print("-" * len(head))
    for name, spec in reg.items():
        state = weights.cache_state(spec)
        notes = [
            n
            for n, on in (("gated", spec.gated), ("no sha256 for some files", spec.unverified_files()))
            if on
        ]
        extra = f"  ({'; '.join(notes)})" if notes else ""
        print(
            f"{name:22}  {spec.kind:15}  {_mb(spec.size_mb):>8}  {_mb(spec.vram_mb):>8}  "
            f"{spec.license:13}  {state}{extra}"
        )
    return 0


def cmd_download(args) -> int:
    from avs_studio.openavs import model_import, weights

    specs = [weights.get_spec(n) for n in args.names]  # UnknownModelError names the known models first
    todo = [s.name for s in specs if weights.missing_files(s)]
    model_import.require_models(todo, "`models download`", allow_unverified=args.allow_unverified)
    done = []
    for spec in specs:
        if spec.name not in todo:
            done.append({"name": spec.name, "path": str(weights.model_dir(spec)), "downloaded": False})
            if not args.json:
                print(f"{spec.name} is already in {weights.model_dir(spec)}")
            continue
        with Bar(spec.name, bytes=True) as bar:  # the Hub's own bar stays quiet when one is given
            path = weights.ensure(spec, progress=bar, allow_unverified=args.allow_unverified)
        prov = weights.provenance(spec)
        done.append({"name": spec.name, "path": str(path), "downloaded": True, "commit": prov["commit"]})
        if args.json:
            continue
        print(f"downloaded {spec.name} to {path}")
        if prov["commit"]:
            print(f"  from {spec.repo} at commit {prov['commit']}")
        unverified = {p: f for p, f in prov["files"].items() if f.get("sha256") and not f.get("verified")}
        for p, f in unverified.items():
            print(f"  not verified (no registered sha256): {p}  sha256 {f['sha256']}  size {f['size']}")
    if args.json:
        print_json({"models": done})
    return 0


def cmd_verify(args) -> int:
    from avs_studio.openavs import weights

    reg = weights.load_registry()
    if args.name:
        weights.get_spec(args.name)  # UnknownModelError names the known models
    names = [args.name] if args.name else [n for n in reg if weights.cache_state(reg[n]) != "no"]
    if not names:
        if args.json:
            print_json({"models": {}})
        else:
            print(f"no model is cached in {weights.cache_dir()}")
        return 0
    bad = 0
    results = {}
    for name in names:
        spec = reg[name]
        checks = weights.verify(spec)
        bad += sum(c.status in ("mismatch", "missing") for c in checks)
        results[name] = [
            {"path": c.path, "status": c.status, "sha256": c.sha256, "size": c.size, "note": c.note} for c in checks
        ]
        if args.json:
            continue
        print(f"{name} ({weights.model_dir(spec)})")
        for c in checks:
            extra = f"  sha256 {c.sha256}  size {c.size}" if c.sha256 else ""
            note = f"  ({c.note})" if c.note else ""
            print(f"  {c.status:10} {c.path}{extra}{note}")
        if args.record:
            prov = weights.provenance(spec)
            print(f"  # registry lines for [models.{name}] (revision {prov['commit'] or prov['revision']}):")
            for c in checks:
                if c.sha256:
                    print(f'  {{ path = "{c.path}", sha256 = "{c.sha256}", size = {c.size} }},')
    if args.json:
        print_json({"models": results})
    return 1 if bad else 0


def cmd_import(args) -> int:
    from avs_studio.openavs import model_import

    report = model_import.import_model(args.path, args.name, allow_unverified=args.allow_unverified)
    if args.json:
        print_json(report)
        return 0
    print(report.summary())
    return 0


def cmd_info(args) -> int:
    from avs_studio.openavs import weights

    prov = weights.provenance(args.name)
    if args.json:
        print(json.dumps(prov, indent=2))
        return 0
    where = prov["repo"] or prov["source"]
    print(
        f"{prov['model']}: {where} revision {prov['revision']}"
        + (f", commit {prov['commit']}" if prov["commit"] else "")
    )
    if prov["imported_from"]:
        print(f"  imported from {prov['imported_from']}")
    print(f"  cache: {prov['path']}")
    for path, f in prov["files"].items():
        state = "not cached" if not f else "absent (optional)" if f.get("absent") else (
            "verified" if f.get("verified") else "not verified")  # fmt: skip
        print(f"  {path}  {state}" + (f"  sha256 {f['sha256']}" if f.get("sha256") else ""))
    return 0
