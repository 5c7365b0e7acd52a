"""Audit bundles: a folder from which anyone can recompute a campaign's results.

A bundle holds the rules (``campaign.toml``, the exact text whose SHA-256 is the rules digest),
every observation used (``observations.jsonl``, in the Research API's field names, sorted by
video id, time and content), the moderation decisions (``decisions.jsonl``), the confirmed
removals (``removed.jsonl``), the jury's judgments when there are any (``judgments.jsonl``) and
the results (``results.json``, the bytes ``oyren run --format json`` prints).

``manifest.json`` names the software, the campaign and its rules digest, and the SHA-256 of each
file; its ``digest`` is the SHA-256 of the manifest itself without that key (JSON, keys sorted,
no spaces), so one value published with the results vouches for the whole folder.
``signature.json``, when the organizer signed the award, holds an Ed25519 signature of that
digest (:mod:`oyren.batch.signing`); it is the one file the manifest does not list.

:func:`verify_bundle` checks every digest against every other (each file's, the manifest's own,
the rules digest, the award's results digest against ``results.json``), the digest the verifier
was told to expect, the signature and whether its key is one the verifier trusts, and
recomputes the results from the files alone with the same engine as ``oyren run``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from oyren import __version__
from oyren.batch.runs import RunInputs, run_files
from oyren.batch.signing import PublicKey, Signer, verify_signature
from oyren.errors import BundleError, OyrenError
from oyren.inputs.observations import observation_to_record
from oyren.inputs.removals import Removal, removal_to_record
from oyren.rules.campaign import Campaign, parse_campaign
from oyren.rules.decisions import Decision
from oyren.rules.observations import Observation
from oyren.rules.results import id_sort_key, results_to_dict

__all__ = [
    "FILES",
    "FORMAT",
    "SIGNATURE",
    "BundleContents",
    "Verification",
    "bundle_manifest",
    "manifest_digest",
    "verify_bundle",
    "write_bundle",
]

FORMAT = "oyren-audit-bundle/1"
CAMPAIGN = "campaign.toml"
OBSERVATIONS = "observations.jsonl"
DECISIONS = "decisions.jsonl"
REMOVALS = "removed.jsonl"
RESULTS = "results.json"
JUDGMENTS = "judgments.jsonl"
MANIFEST = "manifest.json"
SIGNATURE = "signature.json"
REQUIRED = (CAMPAIGN, OBSERVATIONS, DECISIONS, REMOVALS, RESULTS)
FILES = (*REQUIRED, JUDGMENTS)
MAX_DIFFERENCES = 20


@dataclass(frozen=True, slots=True)
class BundleContents:
    """What goes into a bundle."""

    campaign: Campaign
    observations: Sequence[Observation]
    decisions: Sequence[Decision]
    removals: Sequence[Removal]
    results: bytes  # results.json as published
    award: dict[str, Any] | None = None  # the award these results froze, if any
    judgments: bytes | None = None  # the jury's judgments (JSONL), when there is a jury


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of :func:`verify_bundle`: ok when ``problems`` is empty."""

    path: str
    digest: str | None
    campaign_id: str | None
    problems: tuple[str, ...]
    results: dict[str, Any] | None = field(default=None, repr=False)
    signed_by: str | None = None  # the id of the key whose valid signature the bundle carries
    trusted: bool = False  # the signing key is one the verifier named (--key)
    expected: bool = False  # the digest is the one the verifier was told to expect (--expect)

    @property
    def ok(self) -> bool:
        """True when every digest holds and the recomputed results match."""
        return not self.problems


def _jsonl(records: Sequence[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def _observations_jsonl(observations: Sequence[Observation]) -> bytes:
    lines = [
        (o.video_id, o.collected_at, orjson.dumps(observation_to_record(o))) for o in observations
    ]
    lines.sort(key=lambda line: (id_sort_key(line[0]), line[1], line[2]))
    return b"".join(line[2] + b"\n" for line in lines)


def _decision_record(d: Decision, campaign: Campaign) -> dict[str, Any]:
    record: dict[str, Any] = {"video_id": d.video_id, "action": d.action}
    if d.reason:
        record["reason"] = d.reason
    record["by"] = d.by
    record["at"] = campaign.local(d.at).isoformat()
    return record


def manifest_digest(manifest: dict[str, Any]) -> str:
    """The digest over a manifest (without its ``digest`` key): SHA-256 of sorted, compact JSON."""
    body = {k: v for k, v in manifest.items() if k != "digest"}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def bundle_manifest(contents: BundleContents, *, created_at: int | None = None) -> dict[str, Any]:
    """The manifest :func:`write_bundle` would write (its ``digest`` is what a signature signs)."""
    return _assemble(contents, created_at)[1]


def write_bundle(
    contents: BundleContents,
    out: str | Path,
    *,
    created_at: int | None = None,
    signature: dict[str, Any] | None = None,
    signer: Signer | None = None,
) -> dict[str, Any]:
    """Write a bundle into the new folder ``out`` (it may exist if empty); return the manifest.

    ``signature`` (made earlier, for this very bundle) or ``signer`` adds ``signature.json``.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BundleError(f"{out} already exists and is not an empty folder: choose a new one")
    files, manifest = _assemble(contents, created_at)
    if signer is not None:
        signature = signer.sign(manifest["digest"])
    if signature is not None:
        if signature.get("bundle_digest") != manifest["digest"]:
            raise BundleError(
                f"the award was signed for the bundle {signature.get('bundle_digest')}, but the "
                f"bundle written now has the digest {manifest['digest']} (the software or the "
                "stored data changed since): sign the award again (oyren award --supersede)"
            )
        files = {**files, SIGNATURE: _manifest_bytes(signature)}
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        for name, data in files.items():
            (staging / name).write_bytes(data)
        (staging / MANIFEST).write_bytes(_manifest_bytes(manifest))
        os.replace(staging, out)  # all files appear at once, or none
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _assemble(
    contents: BundleContents, created_at: int | None
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The bundle's files (but the manifest) and its manifest."""
    campaign = contents.campaign
    # Decisions keep their stored order within a video: the later of two equal times is in force.
    decisions = sorted(contents.decisions, key=lambda d: id_sort_key(d.video_id))
    removals = sorted(contents.removals, key=lambda r: id_sort_key(r.video_id))
    files = {
        CAMPAIGN: campaign.source_text.encode("utf-8"),
        OBSERVATIONS: _observations_jsonl(contents.observations),
        DECISIONS: _jsonl([_decision_record(d, campaign) for d in decisions]),
        REMOVALS: _jsonl([removal_to_record(r, tz=campaign.tz) for r in removals]),
        RESULTS: contents.results,
    }
    if contents.judgments is not None:
        files[JUDGMENTS] = contents.judgments
    moment = datetime.fromtimestamp(created_at, tz=UTC) if created_at else datetime.now(tz=UTC)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "software": f"oyren {__version__}",
        "created_at": moment.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "campaign": campaign.id,
        "rules_digest": campaign.digest,
        "award": contents.award,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    manifest["digest"] = manifest_digest(manifest)
    return files, manifest


def verify_bundle(
    path: str | Path, *, expect: str | None = None, trusted: tuple[PublicKey, ...] = ()
) -> Verification:
    """Check a bundle's digests and signature and recompute its results from its files alone.

    ``expect`` is the bundle digest the verifier got from the organizer (the winners page);
    ``trusted`` are the organizer's published public keys, one of which must have signed it.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise BundleError(f"{folder} is not a folder: give the folder `oyren bundle` wrote")
    problems: list[str] = []
    manifest = _read_manifest(folder, problems)
    if manifest is None:
        return Verification(str(folder), None, None, tuple(problems))
    # The digest the contents give, whatever the manifest claims.
    digest = manifest_digest(manifest)
    campaign_id = manifest.get("campaign")
    expected = False
    if expect is not None:
        expected = expect.strip().lower() == digest
        if not expected:
            problems.append(
                f"{MANIFEST}: the bundle's digest is {digest}, not {expect.strip()} as expected: "
                "this is not the bundle that was published"
            )
    signed_by = _check_signature(folder, digest, trusted, problems)
    listed = _check_files(folder, manifest, problems)
    recomputed = None if problems or not listed else _recompute(folder, manifest, problems)
    return Verification(
        str(folder),
        digest,
        campaign_id,
        tuple(problems),
        recomputed,
        signed_by=signed_by,
        trusted=bool(trusted) and signed_by is not None,
        expected=expected,
    )


def _check_signature(
    folder: Path, digest: str, trusted: tuple[PublicKey, ...], problems: list[str]
) -> str | None:
    """Check ``signature.json``; return the signing key's id when the signature holds."""
    path = folder / SIGNATURE
    if not path.exists():
        if trusted:
            problems.append(
                f"{SIGNATURE}: missing: the bundle is not signed, so no key you trust vouches "
                "for it"
            )
        return None
    try:
        signature = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        problems.append(f"{SIGNATURE}: unreadable ({exc})")
        return None
    key, found = verify_signature(signature, bundle_digest=digest, trusted=trusted)
    problems.extend(found)
    return key.key_id if key is not None and not found else None


def _read_manifest(folder: Path, problems: list[str]) -> dict[str, Any] | None:
    try:
        raw = (folder / MANIFEST).read_bytes()
    except OSError as exc:
        problems.append(f"{MANIFEST}: cannot read it ({exc.strerror})")
        return None
    try:
        manifest = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        problems.append(f"{MANIFEST}: not valid JSON ({exc})")
        return None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        problems.append(f"{MANIFEST}: not a bundle manifest (no 'files' table)")
        return None
    if manifest.get("format") != FORMAT:
        problems.append(f"{MANIFEST}: format is {manifest.get('format')!r}, expected {FORMAT!r}")
    if raw != _manifest_bytes(manifest):
        problems.append(f"{MANIFEST}: edited by hand (it is not as oyren writes it)")
    if manifest.get("digest") != manifest_digest(manifest):
        problems.append(
            f"{MANIFEST}: its digest does not match its contents "
            f"(says {manifest.get('digest')}, contents give {manifest_digest(manifest)})"
        )
    return manifest


def _check_files(folder: Path, manifest: dict[str, Any], problems: list[str]) -> bool:
    listed: dict[str, Any] = manifest["files"]
    for name in REQUIRED:
        if name not in listed:
            problems.append(f"{MANIFEST}: does not list {name}")
    for name in sorted(set(listed) - set(FILES)):
        problems.append(f"{MANIFEST}: lists {name}, which is not part of a bundle")
    present = {p.name for p in folder.iterdir()} - {MANIFEST, SIGNATURE}
    for name in sorted(present - set(listed)):
        problems.append(f"{name}: not listed in {MANIFEST} (added after the bundle was made?)")
    for name, expected in sorted(listed.items()):
        if name not in FILES:
            continue
        try:
            actual = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        except OSError as exc:
            problems.append(f"{name}: cannot read it ({exc.strerror})")
            continue
        if actual != expected:
            problems.append(
                f"{name}: changed since the bundle was made (SHA-256 {actual}, "
                f"manifest says {expected})"
            )
    if CAMPAIGN in listed and listed[CAMPAIGN] != manifest.get("rules_digest"):
        problems.append(f"{MANIFEST}: rules_digest is not the SHA-256 of {CAMPAIGN}")
    award = manifest.get("award")
    if award is not None and (
        not isinstance(award, dict) or award.get("results_digest") != listed.get(RESULTS)
    ):
        said = award.get("results_digest") if isinstance(award, dict) else award
        problems.append(
            f"{MANIFEST}: the award's results_digest ({said}) is not the SHA-256 of the "
            f"{RESULTS} beside it ({listed.get(RESULTS)})"
        )
    return not problems


def _recompute(
    folder: Path, manifest: dict[str, Any], problems: list[str]
) -> dict[str, Any] | None:
    try:
        campaign = parse_campaign(
            (folder / CAMPAIGN).read_bytes().decode("utf-8"), path=str(folder / CAMPAIGN)
        )
        if campaign.id != manifest.get("campaign"):
            problems.append(
                f"{CAMPAIGN}: campaign id is '{campaign.id}', the manifest says "
                f"'{manifest.get('campaign')}'"
            )
        published = orjson.loads((folder / RESULTS).read_bytes())
        judgments = folder / JUDGMENTS
        inputs = RunInputs(
            observations=folder / OBSERVATIONS,
            decisions=folder / DECISIONS,
            removed=folder / REMOVALS,
            judgments=judgments if judgments.exists() else None,
        )
        results = results_to_dict(run_files(campaign, inputs))
    except (OyrenError, UnicodeDecodeError, orjson.JSONDecodeError) as exc:
        problems.append(f"cannot recompute: {exc}")
        return None
    differences = _differences(published, results)
    for line in differences[:MAX_DIFFERENCES]:
        problems.append(f"{RESULTS}: {line}")
    if len(differences) > MAX_DIFFERENCES:
        problems.append(f"{RESULTS}: … and {len(differences) - MAX_DIFFERENCES} more differences")
    return results


def _differences(published: Any, recomputed: Any, where: str = "") -> list[str]:
    """Describe how ``published`` differs from ``recomputed``, winners first."""
    if isinstance(published, dict) and isinstance(recomputed, dict):
        keys = sorted(set(published) | set(recomputed), key=lambda k: (k != "winners", k))
        out = []
        for key in keys:
            here = f"{where}.{key}" if where else str(key)
            if key not in recomputed:
                out.append(f"{here}: published but not part of the results")
            elif key not in published:
                out.append(f"{here}: missing (recomputed {_short(recomputed[key])})")
            else:
                out.extend(_differences(published[key], recomputed[key], here))
        return out
    if isinstance(published, list) and isinstance(recomputed, list):
        if where == "entries":
            return _entry_differences(published, recomputed)
        out = []
        for i, (a, b) in enumerate(zip(published, recomputed, strict=False)):
            out.extend(_differences(a, b, f"{where}[{i}]"))
        if len(published) != len(recomputed):
            out.append(f"{where}: {len(published)} published, {len(recomputed)} recomputed")
        return out
    if published != recomputed or type(published) is not type(recomputed):
        return [f"{where}: published {_short(published)}, recomputed {_short(recomputed)}"]
    return []


def _entry_differences(published: list[Any], recomputed: list[Any]) -> list[str]:
    def by_id(entries: list[Any]) -> dict[str, Any]:
        return {str(e.get("video_id")): e for e in entries if isinstance(e, dict)}

    a, b = by_id(published), by_id(recomputed)
    out = []
    for video_id in sorted(set(a) | set(b), key=id_sort_key):
        if video_id not in b:
            out.append(f"entries: video {video_id} published but not recomputed")
        elif video_id not in a:
            out.append(f"entries: video {video_id} recomputed but not published")
        else:
            out.extend(_differences(a[video_id], b[video_id], f"entries[video {video_id}]"))
    if not out and [e.get("video_id") for e in published if isinstance(e, dict)] != [
        e.get("video_id") for e in recomputed
    ]:
        out.append("entries: published in a different order than recomputed")
    return out


def _short(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 80 else text[:77] + "…"
