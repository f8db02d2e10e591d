"""Images on the engine: listed, pulled with progress, removed."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from popvim.engine.driver import (
    EngineConflict,
    EngineDriver,
    EngineError,
    EngineImage,
    EngineInvalid,
    EngineNotFound,
)
from popvim.vim.errors import EngineFailure, InvalidArgument, InvalidState, NotFound, VimError
from popvim.vim.events import EventBus
from popvim.vim.models import Image

# Docker's reference grammar, loosely: [registry[:port]/]path[:tag][@digest];
# a registry is told from a path by its dot or its port
_REFERENCE = re.compile(
    r"^(?:(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+|localhost)(?::\d+)?/|[a-zA-Z0-9-]+:\d+/)?"
    r"[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*"
    r"(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)

_IMAGE_ID = re.compile(r"^(sha256:)?[0-9a-f]{6,64}$")


def split_reference(ref: str) -> tuple[str, str | None]:
    """``repo[:tag]`` into repository and tag, minding a registry's ``host:port``."""
    if not ref or not _REFERENCE.match(ref):
        raise InvalidArgument(f"{ref!r} is not an image reference such as 'busybox:latest'")
    if "@" in ref:
        repo, digest = ref.split("@", 1)
        return repo, digest
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = ref.rsplit(":", 1)
        return repo, tag
    return ref, None


def image_view(image: EngineImage) -> Image:
    return Image(
        id=image.id,
        tags=image.tags,
        created=image.created,
        size=image.size,
        labels=image.labels,
        architecture=image.architecture,
        os=image.os,
    )


def _pull_failure(ref: str, exc: EngineError) -> VimError:
    """A registry that does not have the image is the user's NotFound, not an engine failure."""
    return (NotFound if isinstance(exc, EngineNotFound) else EngineFailure)(f"pull of {ref!r} failed: {exc.message}")


class ImageService:
    def __init__(self, engine: EngineDriver, bus: EventBus) -> None:
        self._engine = engine
        self._bus = bus

    def list(self) -> list[Image]:
        try:
            return [image_view(i) for i in self._engine.images()]
        except EngineError as exc:
            raise EngineFailure(exc.message) from exc

    def resolve(self, ref: str) -> EngineImage:
        """The local image a reference or (short) id names."""
        if not (_IMAGE_ID.match(ref) or _REFERENCE.match(ref)):
            raise InvalidArgument(f"{ref!r} is neither an image reference such as 'busybox:latest' nor an image id")
        try:
            return self._engine.image(ref)
        except EngineNotFound as exc:
            raise NotFound(f"image {ref!r} not found on this PoP; pull it first") from exc
        except EngineInvalid as exc:
            raise InvalidArgument(f"{ref!r} is not a valid image reference: {exc.message}") from exc
        except EngineError as exc:
            raise EngineFailure(exc.message) from exc

    def get(self, ref: str) -> Image:
        return image_view(self.resolve(ref))

    def pull(self, ref: str) -> Iterator[dict[str, Any]]:
        """The engine's progress messages, then ``{"status": "pulled", "image": {...}}``.

        Fails before the first message on a bad reference; a failure of the
        engine mid-pull raises ``EngineFailure`` from the iterator.
        """
        repository, tag = split_reference(ref)
        return self._pull(ref, repository, tag or "latest")

    def pull_image(self, ref: str) -> Image:
        """Pulls and answers the image once it is there, for callers that show no progress."""
        *_, last = self.pull(ref)
        return Image(**last["image"])

    def _pull(self, ref: str, repository: str, tag: str) -> Iterator[dict[str, Any]]:
        try:
            yield from self._engine.pull(repository, tag)
            image = self._engine.image(
                f"{repository}:{tag}" if not tag.startswith("sha256:") else f"{repository}@{tag}"
            )
        except EngineError as exc:
            raise _pull_failure(ref, exc) from exc
        self._bus.publish("image.pulled", image.id, ref=ref)
        yield {"status": "pulled", "image": image_view(image).model_dump(mode="json")}

    def remove(self, ref: str, force: bool = False, waiting: Mapping[str, str] | None = None) -> None:
        """Removes what ``ref`` names: a tag (``repo`` meaning ``repo:latest``) is untagged,
        an id deletes the image. The engine is handed ``ref`` itself, since turning a
        name into the image id would try to delete every other tag of that image too.

        ``waiting`` maps containers recorded but not started yet to their image ids:
        the engine does not know them, so it would delete an image they still need.
        """
        image = self.resolve(ref)
        holders = sorted(name for name, image_id in (waiting or {}).items() if image_id == image.id)
        if holders and not force and not self._only_untags(ref, image):
            raise InvalidState(f"image {ref!r} is in use by containers not started yet: {', '.join(holders)}")
        try:
            self._engine.remove_image(ref, force=force)
        except EngineNotFound as exc:
            raise NotFound(f"image {ref!r} not found on this PoP") from exc
        except EngineConflict as exc:
            raise InvalidState(f"image {ref!r} is in use or shared, remove it with force: {exc.message}") from exc
        except EngineError as exc:
            raise EngineFailure(exc.message) from exc
        self._bus.publish("image.removed", image.id, ref=ref)

    @staticmethod
    def _only_untags(ref: str, image: EngineImage) -> bool:
        """True when removing ``ref`` takes one of several tags away and leaves the image."""
        tag = ref if ":" in ref.rsplit("/", 1)[-1] else f"{ref}:latest"
        return tag in image.tags and len(image.tags) > 1
