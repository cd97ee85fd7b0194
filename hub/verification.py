"""`hub.verify`: re-hash every stored file (ignoring the fast-load record) and check every manifest."""
from __future__ import annotations

from sqlalchemy import select

from hub.access import blob_store, database
from hub.errors import user_errors
from hub.loading import repair_hint
from hub.progress import byte_bar
from hub.records import VerifyReport
from hub.references import parse_reference
from registry.errors import reading, writing
from registry.schema import ModelVersion
from registry.versions import FileEntry, all_version_files, manifest_sha256


@user_errors
def verify(ref: str | None = None, *, progress: bool | None = None) -> VerifyReport:
    """Re-hash the blobs of every version (or of the model/version `ref` names) and recompute manifests.

    Each problem is one line naming the model, version and file, with the repair; temp files left by
    writers that died are removed.

    >>> report = hub.verify()
    >>> report.ok, report.checked_files
    (True, 12)
    """
    parsed = parse_reference(ref) if ref is not None else None
    store = blob_store()
    with database().read() as session:
        rows = all_version_files(session)
        manifests = {(v.model.full_name, v.version): v.manifest_sha256
                     for v in session.scalars(select(ModelVersion))}
    if parsed is not None:
        from hub.browsing import info
        target = info(ref)  # raises the unknown model, version or alias error with suggestions
        number = None if parsed.is_plain else target.version  # a plain name means every version
        rows = [r for r in rows if r[0] == parsed.name and (number is None or r[1] == number)]
    problems = []
    by_version: dict[tuple[str, int], list[FileEntry]] = {}
    with byte_bar(sum({sha: size for *_, sha, size in rows}.values()), "verify", progress) as update:
        verdict_of: dict[str, str | None] = {}
        for name, number, path, sha, size in rows:
            by_version.setdefault((name, number), []).append(FileEntry(path, sha, size))
            if sha not in verdict_of:
                try:
                    with reading(store.root):  # a store this user may not read is one line, not a list of problems
                        verdict_of[sha] = store.check(sha, size, trust_record=False)
                except FileNotFoundError:
                    verdict_of[sha] = "its blob is missing from the store"
                update(size)
            if verdict_of[sha]:
                problems.append(f"{name}@{number}: file {path} (blob sha256:{sha[:12]}) is damaged: {verdict_of[sha]}, "
                                f"expected sha256:{sha}; {repair_hint(name)}")
    for (name, number), files in by_version.items():
        if manifest_sha256(name, files) != manifests[(name, number)]:
            problems.append(f"{name}@{number}: its file list no longer hashes to its manifest "
                            f"sha256:{manifests[(name, number)]}: the registry database was edited by hand; restore "
                            f"it from a backup")
    with reading(store.root):
        stale = store.stale_temp_files()
    with writing(store.root):
        for path in stale:
            path.unlink(missing_ok=True)
    return VerifyReport(len(rows), sum(size for *_, size in rows), tuple(problems), len(stale))
