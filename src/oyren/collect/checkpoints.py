"""Where collection keeps what it found: the :class:`CrawlStore` protocol and a file-backed store.

The crawl and track workflows need only this much from storage:

- a :class:`Checkpoint` per (campaign, date span): the cursor and ``search_id`` to resume from,
  whether the span is done and when its pass started;
- :meth:`CrawlStore.add_page`: a page of observations stored *together with* the span's new
  checkpoint, all or nothing, skipping observations already stored (same video id and
  ``collected_at``). A crawl killed at any moment therefore resumes from a checkpoint that matches
  the stored observations exactly: nothing lost, nothing twice;
- the known videos with their view series, for tracking;
- the quota spent per UTC day (the API's quota is the organization's, across campaigns).

:class:`FileCrawlStore` implements it with no database: ``CAMPAIGN/observations.jsonl`` per
campaign (the format ``oyren run --observations`` reads) and one ``state.json`` for the directory
(every checkpoint, the length of the committed part of each JSONL file, the quota ledger). A page
is appended and fsynced, then the state is written to a temporary file, fsynced and renamed over
the old one: the rename is the commit. On opening, bytes past the committed length — a page whose
commit never happened — are cut off.
"""

from __future__ import annotations

import fcntl
import os
from bisect import bisect_left
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, Protocol

import orjson

from oyren.errors import InputError, StoreError
from oyren.inputs.observations import observation_from_record, observation_to_record
from oyren.rules.observations import Observation
from oyren.rules.videos import Video, collect_videos

__all__ = ["Added", "Checkpoint", "CrawlStore", "FileCrawlStore", "span_key"]

STATE_VERSION = 1


def span_key(start: date, end: date) -> str:
    """Name a date span by the query's ``start_date`` and ``end_date``: ``20240220-20240321``."""
    return f"{start:%Y%m%d}-{end:%Y%m%d}"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where the crawl of one date span stands."""

    span: str  # span_key(start_date, end_date)
    cursor: int = 0
    search_id: str | None = None
    done: bool = False
    started_at: int | None = None  # server time of this pass's first request
    finished_at: int | None = None

    @property
    def start_date(self) -> date:
        """The query's ``start_date``."""
        return _yyyymmdd(self.span[:8])

    @property
    def end_date(self) -> date:
        """The query's ``end_date``."""
        return _yyyymmdd(self.span[9:])


class Added(NamedTuple):
    """What :meth:`CrawlStore.add_page` stored: new observations, and videos never seen before."""

    observations: int
    videos: int


class CrawlStore(Protocol):
    """What crawling and tracking need from storage. Campaigns are named by their id."""

    def checkpoints(self, campaign: str) -> dict[str, Checkpoint]:
        """Return every span's checkpoint, by span key."""
        ...

    def save_checkpoint(self, campaign: str, checkpoint: Checkpoint) -> None:
        """Store a checkpoint on its own (a pass that starts, a span restarted)."""
        ...

    def add_page(
        self, campaign: str, observations: Sequence[Observation], checkpoint: Checkpoint | None
    ) -> Added:
        """Store new observations and the checkpoint atomically; skip (id, collected_at) repeats."""
        ...

    def videos(self, campaign: str, *, cutoff: int) -> list[Video]:
        """Return the known videos as ``collect_videos(all observations, cutoff=cutoff)`` would."""
        ...

    def quota_spent(self, day: str) -> tuple[int, int]:
        """Return (requests, records) spent on UTC ``day`` (``YYYY-MM-DD``)."""
        ...

    def record_quota(self, day: str, requests: int, records: int) -> None:
        """Add requests and records to UTC ``day``'s spending."""
        ...

    def note_missing(self, campaign: str, video_ids: Collection[str], at: int) -> None:
        """Note known videos a refresh at ``at`` asked for and the API did not return."""
        ...


class _Campaign:
    """One campaign's observations file and in-memory index; its checkpoints live in the state."""

    def __init__(self, directory: Path, committed: int) -> None:
        self.jsonl = directory / "observations.jsonl"
        self.committed = committed
        self.series: dict[str, _Series] = {}
        self.keys: set[tuple[str, int]] = set()
        self.cutoff: int | None = None  # the deadline the series' metadata is chosen for
        directory.mkdir(parents=True, exist_ok=True)
        if not self.jsonl.exists():
            self.jsonl.touch()
        size = self.jsonl.stat().st_size
        if size < committed:
            raise StoreError(
                f"{self.jsonl} is shorter than its committed length ({size} < {committed} "
                "bytes): the file was changed outside oyren"
            )
        if size > committed:
            # Pages appended by a run that died before their commit: they never happened.
            with self.jsonl.open("r+b") as handle:
                handle.truncate(committed)
        name = str(self.jsonl)
        with self.jsonl.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    obs = observation_from_record(orjson.loads(line), path=name, line=number)
                except orjson.JSONDecodeError as exc:
                    raise StoreError(f"{name}, line {number}: not JSON ({exc})") from None
                except InputError as exc:
                    raise StoreError(str(exc)) from None
                self.index(obs)

    def fresh(self, observations: Sequence[Observation]) -> list[Observation]:
        """The observations not stored yet, each once."""
        out: list[Observation] = []
        seen: set[tuple[str, int]] = set()
        for obs in observations:
            key = (obs.video_id, obs.collected_at)
            if key not in self.keys and key not in seen:
                seen.add(key)
                out.append(obs)
        return out

    def append(self, observations: Sequence[Observation], durable: bool) -> int:
        """Write observations after the committed part; return the new committed length."""
        if not observations:
            return self.committed
        data = b"".join(orjson.dumps(observation_to_record(o)) + b"\n" for o in observations)
        with self.jsonl.open("r+b") as handle:
            handle.seek(self.committed)
            handle.truncate()  # the remains of a failed commit, if any
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        return self.committed + len(data)

    def index(self, obs: Observation) -> None:
        """Add a stored observation to the in-memory series."""
        key = (obs.video_id, obs.collected_at)
        if key in self.keys:
            return
        self.keys.add(key)
        series = self.series.get(obs.video_id)
        if series is None:
            series = self.series[obs.video_id] = _Series()
        elif series.observations:
            obs = _share_text(series.observations[-1], obs)
        series.observations.append(obs)
        if self.cutoff is not None:
            series.fold(obs, self.cutoff)

    def videos(self, cutoff: int) -> list[Video]:
        """Every video, with metadata as at ``cutoff``."""
        if self.cutoff != cutoff:
            self.cutoff = cutoff
            for series in self.series.values():
                series.rebuild(cutoff)
        return [series.video() for series in self.series.values()]


class _Series:
    """One video's observations, and its :class:`Video` kept up to date as they arrive."""

    __slots__ = ("_video", "meta", "observations", "times", "views")

    def __init__(self) -> None:
        self.observations: list[Observation] = []
        self.meta: Observation | None = None
        self.times: list[int] = []
        self.views: list[int] = []
        self._video: Video | None = None

    def fold(self, obs: Observation, cutoff: int) -> None:
        # Times are unique per video (the store skips repeats); they mostly arrive in order.
        i = bisect_left(self.times, obs.collected_at)
        self.times.insert(i, obs.collected_at)
        self.views.insert(i, obs.view_count)
        if self.meta is None:
            self.meta = obs
        else:
            # The same pairwise choice collect_videos makes, one observation at a time.
            self.meta = collect_videos((self.meta, obs), cutoff=cutoff)[obs.video_id].meta
        self._video = None

    def rebuild(self, cutoff: int) -> None:
        self.meta, self.times, self.views, self._video = None, [], [], None
        for obs in self.observations:
            self.fold(obs, cutoff)

    def video(self) -> Video:
        if self._video is None:
            assert self.meta is not None
            self._video = Video(self.meta, tuple(self.times), tuple(self.views))
        return self._video


class FileCrawlStore:
    """A :class:`CrawlStore` in a directory of JSONL and JSON files; one process at a time."""

    def __init__(self, directory: str | Path, *, durable: bool = True) -> None:
        self.directory = Path(directory)
        self.durable = durable  # fsync each commit; off only for throwaway benchmark runs
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = (self.directory / ".lock").open("a")
        try:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            raise StoreError(
                f"{self.directory} is in use by another oyren process; wait for it to finish"
            ) from None
        self._state_path = self.directory / "state.json"
        self._committed: dict[str, int] = {}
        self._checkpoints: dict[str, dict[str, Checkpoint]] = {}
        self._quota: dict[str, list[int]] = {}
        self._quota_dirty = False
        self._campaigns: dict[str, _Campaign] = {}
        try:
            if self._state_path.exists():
                self._load_state()
        except BaseException:
            self.close()
            raise

    def _load_state(self) -> None:
        try:
            state = orjson.loads(self._state_path.read_bytes())
            if state.get("version") != STATE_VERSION:
                raise StoreError(f"{self._state_path}: unknown version {state.get('version')}")
            for campaign, entry in state["campaigns"].items():
                self._committed[campaign] = int(entry["committed_bytes"])
                self._checkpoints[campaign] = {
                    key: Checkpoint(span=key, **value)
                    for key, value in entry["checkpoints"].items()
                }
            self._quota = {day: [int(v[0]), int(v[1])] for day, v in state["quota"].items()}
        except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"{self._state_path}: unreadable crawl state ({exc})") from None

    def close(self) -> None:
        """Write the quota ledger and release the directory for other processes."""
        if self._lock.closed:
            return
        try:
            if self._quota_dirty:
                self._commit()
        finally:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
            self._lock.close()

    def __enter__(self) -> FileCrawlStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _campaign(self, campaign: str) -> _Campaign:
        state = self._campaigns.get(campaign)
        if state is None:
            if not campaign or "/" in campaign or campaign.startswith("."):
                raise StoreError(f"'{campaign}' is not a campaign id")
            folder = self.directory / campaign
            jsonl = folder / "observations.jsonl"
            if campaign not in self._committed and jsonl.exists() and jsonl.stat().st_size:
                raise StoreError(
                    f"{jsonl} was not written by a crawl into this directory; move it away or "
                    "use another --out directory"
                )
            state = _Campaign(folder, self._committed.get(campaign, 0))
            self._campaigns[campaign] = state
            self._checkpoints.setdefault(campaign, {})
        return state

    def _commit(self, committed: dict[str, int] | None = None) -> None:
        """Write the state file: checkpoints, committed lengths and quota, in one rename."""
        lengths = {**self._committed, **(committed or {})}
        state: dict[str, Any] = {
            "version": STATE_VERSION,
            "campaigns": {
                campaign: {
                    "committed_bytes": lengths.get(campaign, 0),
                    "checkpoints": {
                        c.span: {
                            "cursor": c.cursor,
                            "search_id": c.search_id,
                            "done": c.done,
                            "started_at": c.started_at,
                            "finished_at": c.finished_at,
                        }
                        for c in checkpoints.values()
                    },
                }
                for campaign, checkpoints in self._checkpoints.items()
            },
            "quota": self._quota,
        }
        write_atomic(
            self._state_path, orjson.dumps(state, option=orjson.OPT_INDENT_2), self.durable
        )
        self._committed = lengths
        self._quota_dirty = False

    def observations_path(self, campaign: str) -> Path:
        """The JSONL file of ``campaign``'s observations (readable by ``oyren run``)."""
        return self._campaign(campaign).jsonl

    def checkpoints(self, campaign: str) -> dict[str, Checkpoint]:
        """Return every span's checkpoint, by span key."""
        self._campaign(campaign)
        return dict(self._checkpoints[campaign])

    def save_checkpoint(self, campaign: str, checkpoint: Checkpoint) -> None:
        """Store a checkpoint on its own."""
        self.add_page(campaign, (), checkpoint)

    def add_page(
        self, campaign: str, observations: Sequence[Observation], checkpoint: Checkpoint | None
    ) -> Added:
        """Store new observations and the checkpoint atomically."""
        state = self._campaign(campaign)
        fresh = state.fresh(observations)
        new_videos = len({o.video_id for o in fresh} - state.series.keys())
        length = state.append(fresh, self.durable)
        checkpoints = self._checkpoints[campaign]
        previous = checkpoints.get(checkpoint.span) if checkpoint else None
        if checkpoint is not None:
            checkpoints[checkpoint.span] = checkpoint
        try:
            self._commit({campaign: length})
        except BaseException:
            # Not committed: forget the checkpoint too (the appended bytes are cut next time).
            if checkpoint is not None:
                if previous is None:
                    checkpoints.pop(checkpoint.span, None)
                else:
                    checkpoints[checkpoint.span] = previous
            raise
        state.committed = length
        for obs in fresh:
            state.index(obs)
        return Added(len(fresh), new_videos)

    def videos(self, campaign: str, *, cutoff: int) -> list[Video]:
        """Return the known videos with their series and metadata as at ``cutoff``."""
        return self._campaign(campaign).videos(cutoff)

    def quota_spent(self, day: str) -> tuple[int, int]:
        """Return (requests, records) spent on UTC ``day``."""
        requests, records = self._quota.get(day, [0, 0])
        return requests, records

    def note_missing(self, campaign: str, video_ids: Collection[str], at: int) -> None:
        """Keep nothing: the file store has no removals (the database store confirms them)."""

    def record_quota(self, day: str, requests: int, records: int) -> None:
        """Add to UTC ``day``'s spending; written to disk with the next commit.

        A kill forgets at most the requests since the last stored page; the API's own 429 then
        corrects a ledger that came out short.
        """
        if not requests and not records:
            return
        spent = self._quota.setdefault(day, [0, 0])
        spent[0] += requests
        spent[1] += records
        self._quota_dirty = True


def write_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves either the old or the new file."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        if durable:
            os.fsync(handle.fileno())
    os.replace(tmp, path)
    if durable:
        # The rename itself is durable only once the directory entry is on disk.
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _share_text(previous: Observation, obs: Observation) -> Observation:
    """Reuse the previous observation's strings when unchanged, to keep many in memory."""
    if (
        obs.description == previous.description
        and obs.hashtags == previous.hashtags
        and obs.username == previous.username
        and obs.voice_to_text == previous.voice_to_text
    ):
        return replace(
            obs,
            description=previous.description,
            hashtags=previous.hashtags,
            username=previous.username,
            voice_to_text=previous.voice_to_text,
        )
    return obs


def _yyyymmdd(text: str) -> date:
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
