"""The `exquisite` command: extend an image step by step, look at a session, undo, export, repair.

Exit codes: 0 when every requested step committed, 1 when a step was rejected or could not be
saved (its reason is printed), 2 for bad input or a session that cannot be used as asked (the
message says what to change). A SESSION is a session folder or the id an MCP tool printed (looked
up in $EXQUISITE_SESSIONS, else ~/.local/share/exquisite/sessions).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import cli_view
from .colour import SPACES as COLOUR_SPACES
from .errors import ExquisiteError, InputError
from .geometry import DIRECTION_ALIASES, DIRECTIONS, FILLS, Contract
from .glue import BLENDS
from .mask import SHAPES
from .progress_line import ProgressLine
from .seam_report import brief
from .service import (
    SESSION_ID,
    backend_settings_from_pairs,
    check_export_target,
    check_fits,
    default_sessions_dir,
    find_session,
    plan_session_steps,
    plan_steps,
    run_steps,
)
from .journal import damaged_tiles
from .pngio import write_png
from .session import ORIGIN_FILE, SESSION_FILE, Session
from .session_files import StorageError
from .session_folder import CreatedMeanwhile


def _parser() -> argparse.ArgumentParser:
    """Every subcommand and option, declared in one place (long only because argparse takes one call per
    option; nothing here decides anything)."""
    parser = argparse.ArgumentParser(
        prog="exquisite", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    extend = commands.add_parser("extend", help="extend an image (a new session) or a session by N steps")
    extend.add_argument("input", help="an image file (starts a session) or a session directory (continues it)")
    directions = list(DIRECTIONS) + list(DIRECTION_ALIASES)
    extend.add_argument(
        "--direction",
        "-d",
        default=None,
        choices=directions,
        help="growth direction (default: right, or the session's last)",
    )
    extend.add_argument("--steps", "-n", type=int, default=1, help="how many steps (default 1)")
    extend.add_argument("--prompt", "-p", default=None, help="what the new region should show")
    extend.add_argument("--backend", "-b", default=None, help="generator backend (default: local offline)")
    extend.add_argument(
        "--backend-opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a backend setting, e.g. model=gpt-image-1.5 (repeatable)",
    )
    extend.add_argument(
        "--blend",
        choices=BLENDS,
        default=None,
        help="seam blend (default: the backend's own, e.g. mask for openai; else the session's last; else linear)",
    )
    extend.add_argument(
        "--feather", type=int, default=None, help="fade width in px for linear/smooth (default: the overlap)"
    )
    extend.add_argument(
        "--overlap", type=int, default=None, help="overlap in px (512: whole tile pasted; 256: legacy contract)"
    )
    extend.add_argument(
        "--ramp-start", type=float, default=None, help="where the mask ramp starts in the conditioning half"
    )
    extend.add_argument(
        "--ramp-end", type=float, default=None, help="where the mask ramp ends (the frontier by default)"
    )
    extend.add_argument(
        "--colour-match",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="map the tile's colours onto the canvas's on the overlap before blending, so colours "
        "do not drift (default on; --no-colour-match turns it off)",
    )
    extend.add_argument(
        "--register",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="move a tile whose picture came back a few px off its band onto it before blending "
        "(default on; --no-register glues it where it lies)",
    )
    extend.add_argument(
        "--colour-space",
        choices=COLOUR_SPACES,
        default=None,
        help="where colour matching matches mean and spread per channel (default rgb: removes a "
        "per-channel gain and offset exactly; lab: lightness and chroma)",
    )
    extend.add_argument(
        "--blend-ramp-start",
        type=float,
        default=None,
        help="compositing ramp start for the mask/multiband/seam blends, if it should differ "
        "from the generation ramp (same units as --ramp-start)",
    )
    extend.add_argument(
        "--blend-ramp-end", type=float, default=None, help="compositing ramp end (default: the generation ramp's)"
    )
    extend.add_argument("--ramp-shape", choices=SHAPES, default=None, help="ramp shape (default linear)")
    extend.add_argument(
        "--fill", choices=FILLS, default=None, help="what fills the new half of the reference (default gray)"
    )
    extend.add_argument(
        "--seed", type=int, default=None, help="seed of the first step; step i uses seed + i (default 0)"
    )
    extend.add_argument(
        "--session", default=None, help="where to create the session (default: a new folder under ./exquisite-sessions)"
    )
    extend.add_argument(
        "--fit",
        action="store_true",
        help="optional: scale the image so its side across the growth direction is one tile "
        "(1024 px, aspect kept). Without it the full resolution is kept: a longer edge is "
        "grown by several overlapping tiles, a shorter one by one tile without upscaling",
    )
    extend.add_argument("--out", "-o", required=True, help="PNG file for the final canvas")
    extend.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    extend.add_argument("--wait", action="store_true", help=WAIT_HELP)

    show = commands.add_parser("show", help="a session's size, canvas file and history (writes nothing)")
    show.add_argument("session", help="a session folder or id")
    show.add_argument("--json", action="store_true", help="print JSON")

    undo = commands.add_parser("undo", help="revert a session's last committed step")
    undo.add_argument("session", help="a session folder or id")
    undo.add_argument("--wait", action="store_true", help=WAIT_HELP)

    export = commands.add_parser(
        "export",
        help="write a session's current canvas (or any step's) to a PNG file (writes nothing into the session)",
    )
    export.add_argument("session", help="a session folder or id")
    export.add_argument("--out", "-o", required=True)
    export.add_argument(
        "--step",
        type=int,
        default=None,
        help="the canvas after step N (0: the source), rebuilt from the session's files; default: the current canvas",
    )
    export.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    cli_view.add_parser(commands)

    repair = commands.add_parser(
        "repair",
        help="finish what a killed or failed run left and rebuild what is "
        "damaged (extend and undo do this too when they open a session)",
    )
    repair.add_argument("session", help="a session folder or id")
    repair.add_argument("--wait", action="store_true", help=WAIT_HELP)
    return parser


WAIT_HELP = "if another process is changing the session, wait for it instead of stopping at once"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    commands = {
        "extend": _extend,
        "show": _show,
        "undo": _undo,
        "export": _export,
        "repair": _repair,
        "view": cli_view.run,
    }
    try:
        return commands[args.command](args)
    except StorageError as error:  # the disk refused a write: not the user's input
        print(f"exquisite: {error}", file=sys.stderr)
        return 1
    except ExquisiteError as error:
        print(f"exquisite: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a file the command had to read or write could not be
        where = f": {error.filename}" if error.filename else ""
        print(f"exquisite: {error.strerror or error}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("exquisite: interrupted; the session keeps every step committed so far", file=sys.stderr)
        return 130


def _chosen_settings(args) -> dict:
    """The StepSettings fields given on the command line (None = not given)."""
    return {
        "direction": args.direction,
        "prompt": args.prompt,
        "seed": args.seed,
        "blend": args.blend,
        "feather_px": args.feather,
        "ramp_start": args.ramp_start,
        "ramp_end": args.ramp_end,
        "ramp_shape": args.ramp_shape,
        "fill": args.fill,
        "colour_match": args.colour_match,
        "colour_space": args.colour_space,
        "register": args.register,
        "blend_ramp_start": args.blend_ramp_start,
        "blend_ramp_end": args.blend_ramp_end,
    }


def _open_for_writing(name: str, wait: bool) -> Session:
    """A session opened to change it: repairs are reported; another writer is waited for or refused."""

    def waiting(pid) -> None:
        print(f"exquisite: waiting for process {pid or '?'}, which is changing the session", file=sys.stderr)

    session = Session.open(find_session(name), wait=wait, on_wait=waiting)
    _report_repairs(session)
    return session


def _report_repairs(session: Session) -> None:
    for note in session.repairs:
        print(f"exquisite: {session.root}: {note}", file=sys.stderr)
    session.repairs.clear()


def _open_existing(args) -> Session | None:
    """The session INPUT names (a folder or an id), or None when INPUT is an image (a new session)."""
    source = Path(args.input)
    if not source.exists() and SESSION_ID.match(args.input) and (default_sessions_dir() / args.input).is_dir():
        source = default_sessions_dir() / args.input
    if not (source / SESSION_FILE).exists() and not (source / ORIGIN_FILE).exists():
        if source.is_dir():
            raise InputError(f"{source} is a directory but not a session (no {SESSION_FILE})")
        return None
    if args.session or args.fit:
        raise InputError("--session and --fit apply to a new session; this input is a session already")
    session = _open_for_writing(str(source), args.wait)
    if args.overlap is not None and args.overlap != session.contract.overlap:
        session.close()
        raise InputError(f"this session's overlap is {session.contract.overlap}; a session keeps its contract")
    return session


def _new_session_dir(source: Path) -> Path:
    base = Path("exquisite-sessions") / f"{source.stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    root, n = base, 1
    while root.exists():
        n += 1
        root = base.with_name(f"{base.name}-{n}")
    return root


def _extend(args) -> int:
    """Check everything (settings, backend, --out, the canvas's fit), then create or open, then step.

    A continued session is planned and run while holding its writer lock, so the settings (the seed
    above all) continue the session as it is when the steps run, with no other writer in between."""
    out = check_export_target(args.out, args.force)
    session = _open_existing(args)
    if session is not None:
        with session, session.writing():
            plan = plan_session_steps(
                session,
                _chosen_settings(args),
                args.backend,
                backend_settings_from_pairs(args.backend_opt),
                steps=args.steps,
            )
            check_export_target(out, args.force, session.root)
            return _run_and_export(session, plan, out, args.steps)
    contract = Contract() if args.overlap is None else Contract(overlap=args.overlap)
    plan = plan_steps(
        contract, None, _chosen_settings(args), args.backend, backend_settings_from_pairs(args.backend_opt), args.steps
    )
    root = Path(args.session) if args.session else _new_session_dir(Path(args.input))
    if root.is_file():
        raise InputError(f"--session {root} is a file: give a folder for the new session")
    check_export_target(out, args.force, root)
    for attempt in range(5):  # a default folder name another run took at the same moment: take the next
        try:
            session = Session.create(
                root,
                Path(args.input),
                contract,
                fit=args.fit,
                direction=plan.settings.direction,
                settings=plan.settings,
                backend=plan.backend,
                check_size=lambda size: check_fits(plan.settings.direction, size, contract, plan.steps),
            )
            break
        except CreatedMeanwhile:
            if args.session or attempt == 4:
                raise
            root = _new_session_dir(Path(args.input))
    assert session is not None  # created above, or the loop raised
    with session, session.writing():
        return _run_and_export(session, plan, out, args.steps)


def _run_and_export(session: Session, plan, out: Path, requested: int) -> int:
    print(f"session: {session.root}  ({session.size[0]}x{session.size[1]}, backend {plan.backend})", flush=True)
    line = ProgressLine(plan.steps)  # live on a terminal only

    def report(result) -> None:
        line.clear()
        timing = result.timings.get("generate_s", 0.0)
        if result.committed:
            print(
                f"step {result.number:04d} committed: canvas {result.size[0]}x{result.size[1]} "
                f"(tile in {timing:.1f} s)  {result.directory}",
                flush=True,
            )
            if result.seam:
                print(f"           {brief(result.seam)}", flush=True)
        else:
            print(f"step {result.number:04d} REJECTED: {result.reason}  {result.directory}", flush=True)
        if line.current < plan.steps:
            line.step_started(line.current + 1)

    line.step_started(1)
    try:
        results = run_steps(session, plan, on_step=report, progress=line.within_step)
    finally:
        line.clear()
    session.export(out)
    committed = sum(r.committed for r in results)
    print(f"{committed} of {requested} steps committed; canvas {session.size[0]}x{session.size[1]} -> {out}")
    print(f"continue with: exquisite extend {session.root} --steps N --out OUT.png")
    return 0 if committed == requested else 1


def _show(args) -> int:
    with Session.open(find_session(args.session), write=False) as session:
        info: dict = {
            "session": str(session.root),
            "size": list(session.size),
            "head": session.head,
            "canvas": str(session.canvas_path()),
            "contract": session.contract.to_dict(),
            "steps": session.history(),
            "notes": list(session.repairs),
        }
        _report_repairs(session)
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"session {info['session']}: canvas {info['size'][0]}x{info['size'][1]} at step {info['head']}")
    print(f"canvas file: {info['canvas']}")
    for step in info["steps"]:
        size = step.get("size_after") or step.get("size_before") or ["?", "?"]
        line = (
            f"  {step['number']:04d} {step['status']:<9} {step['direction'] or '?':<5} {size[0]}x{size[1]}  "
            f"seed {step['seed']}"
        )
        if step["prompt"]:
            line += f"  {step['prompt']!r}"
        if step["status"] in ("rejected", "running"):
            line += f"  reason: {step['reason']}"
        elif step.get("seam"):
            line += f"  {brief(step['seam'])}"
        print(line)
    return 0


def _undo(args) -> int:
    with _open_for_writing(args.session, args.wait) as session:
        record = session.undo()
        print(
            f"undid step {record['number']:04d}; canvas is {session.size[0]}x{session.size[1]} at step {session.head}"
        )
    return 0


def _export(args) -> int:
    out = check_export_target(args.out, args.force)
    with Session.open(find_session(args.session), write=False) as session:
        _report_repairs(session)
        if args.step is None:
            session.export(out, force=args.force)
            print(f"wrote {out} ({session.size[0]}x{session.size[1]})")
            return 0
        canvas = session.canvas_at(args.step)
        check_export_target(out, args.force, session.root)
        out.parent.mkdir(parents=True, exist_ok=True)
        write_png(out, canvas, 6)
        print(f"wrote {out} ({canvas.shape[1]}x{canvas.shape[0]}, the canvas after step {args.step})")
    return 0


def _repair(args) -> int:
    """Open for writing (which repairs), rebuild every damaged crop, then check every committed tile
    against its checksum."""
    with Session.open(find_session(args.session), wait=args.wait) as session:
        for note in session.repair():
            print(f"repaired: {note}")
        damaged = damaged_tiles(session.root, session.history())
        if not session.repairs and not damaged:
            print(f"nothing to repair: {session.root} is intact")
        committed = sum(1 for s in session.history() if s["status"] == "committed")
        print(f"canvas {session.size[0]}x{session.size[1]} at step {session.head} ({committed} committed steps)")
    for tile in damaged:
        print(
            f"exquisite: {tile} is damaged (it differs from what its step committed): restore it from a "
            f"backup; rebuilding a canvas from it is refused",
            file=sys.stderr,
        )
    return 2 if damaged else 0


if __name__ == "__main__":
    sys.exit(main())
