"""`models list | download NAME | verify [NAME]`: the model registry and the weight cache."""

from __future__ import annotations

import sys
import time

from avs_studio.openavs import weights


def register(sub) -> None:
    p = sub.add_parser("models", help="list, download and verify model weights")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION")

    q = msub.add_parser("list", help="registered models and whether they are in the cache")
    q.set_defaults(func=cmd_list)

    q = msub.add_parser("download", help="download a model into the cache (resumes a partial download)")
    q.add_argument("name")
    q.set_defaults(func=cmd_download)

    q = msub.add_parser("verify", help="re-hash cached files against the registry")
    q.add_argument("name", nargs="?", help="one model (default: every cached model)")
    q.add_argument("--record", action="store_true", help="print registry lines with the computed checksums")
    q.set_defaults(func=cmd_verify)

    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _mb(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value / 1024:.1f} GB" if value >= 1024 else f"{value:.0f} MB"


def cmd_list(args) -> int:
    reg = weights.load_registry()
    print(f"cache: {weights.cache_dir()}")
    head = f"{'name':22}  {'kind':15}  {'size':>8}  {'VRAM':>8}  {'licence':13}  cached"
    print(head)
    print("-" * len(head))
    for name, spec in reg.items():
        state = weights.cache_state(spec)
        print(
            f"{name:22}  {spec.kind:15}  {_mb(spec.size_mb):>8}  {_mb(spec.vram_mb):>8}  {spec.license:13}  {state}"
        )
    return 0


class _Bar:
    """Progress on stderr, at most a few updates a second."""

    def __init__(self, name: str):
        self.name, self.last = name, 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.25 and done < total:
            return
        self.last = now
        pct = f"{100 * done / total:5.1f}%" if total else "     "
        print(
            f"\r{self.name}: {pct} {done / 1e6:9.1f} / {total / 1e6:.1f} MB",
            end="",
            file=sys.stderr,
            flush=True,
        )


def cmd_download(args) -> int:
    spec = weights.get_spec(args.name)
    missing = weights.missing_files(spec)
    if not missing:
        print(f"{spec.name} is already in {weights.model_dir(spec)}")
    else:
        path = weights.ensure(spec, progress=_Bar(spec.name))
        print(file=sys.stderr)
        print(f"downloaded {spec.name} to {path}")
    unverified = [f.path for f in spec.files if not f.sha256]
    if unverified:
        manifest = weights.read_manifest(weights.model_dir(spec)).get("files", {})
        print(f"not verified (the registry has no sha256 for them): {', '.join(unverified)}")
        for f in unverified:
            if manifest.get(f, {}).get("sha256"):
                print(f"  {f}  sha256 {manifest[f]['sha256']}  size {manifest[f]['size']}")
        print(f"check them with: avs-studio models verify {spec.name} --record")
    return 0


def cmd_verify(args) -> int:
    reg = weights.load_registry()
    names = [args.name] if args.name else [n for n in reg if weights.cache_state(reg[n]) != "no"]
    if args.name:
        weights.get_spec(args.name)  # UnknownModelError names the known models
    if not names:
        print(f"no model is cached in {weights.cache_dir()}")
        return 0
    bad = 0
    for name in names:
        spec = reg[name]
        checks = weights.verify(spec)
        print(f"{name} ({weights.model_dir(spec)})")
        for c in checks:
            extra = f"  sha256 {c.sha256}  size {c.size}" if c.sha256 else ""
            note = f"  ({c.note})" if c.note else ""
            print(f"  {c.status:10} {c.path}{extra}{note}")
            bad += c.status in ("mismatch", "missing")
        if args.record:
            manifest = weights.read_manifest(weights.model_dir(spec))
            print(
                f"  # registry lines for [models.{name}] (revision {manifest.get('commit') or manifest.get('revision', spec.revision)}):"
            )
            for c in checks:
                if c.sha256:
                    print(f'  {{ path = "{c.path}", sha256 = "{c.sha256}", size = {c.size} }},')
    return 1 if bad else 0
