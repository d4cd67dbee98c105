"""The "openai" backend: one OpenAI image edit per step (images.edit with our reference and mask).

What it sends: the packed reference tile as a PNG, the freedom map as OpenAI's edit mask (RGBA,
alpha 0 = edit; a pixel is editable when its freedom is at least `mask_threshold`), the prompt, and
size = the contract's tile size. Sizes the model cannot make are refused before any request.

Secrets: the key comes from OPENAI_API_KEY and the endpoint from OPENAI_BASE_URL, read by the SDK
itself. This module never stores either, and every message it builds from a server's answer is
scrubbed of both (OpenAI's own 401 text echoes part of the key, so that text is never shown).

Cost: every request is a paid image. The SDK's own retries are switched off (it would also retry
408/409 and timeouts, up to twice); this backend retries only where a retry can help (429 that is
not an exhausted quota, 5xx, a failed connection), `max_retries` times (once by default), waiting
as long as the server's Retry-After asks (up to `max_retry_wait`). A timeout is not retried: the
server may still be painting (and billing) that image.

Blend: GPT image models treat the mask as guidance and may repaint fixed pixels. The glue's `mask`
blend is what keeps them, so `OpenAIGenerator.default_blend = "mask"`: callers that let the backend
choose the blend (the CLI when --blend is not given) use it.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import io
import math
import os
import re
import time

import numpy as np
import openai  # the optional extra `exquisite[openai]`; the registry explains when it is missing
from PIL import Image

from ..errors import GenerationError, InputError
from ..generators import TileRequest, register
from ..mask import to_openai_mask
from ..pngio import decode_image_bytes, png_bytes

DEFAULT_MODEL = "gpt-image-1.5"

# From the SDK's ImageModel / image_edit_params docs (openai 3.57): models it marks as gone.
RETIRED_MODELS = {
    "gpt-image-1": "was shut down on 2026-10-23",
    "dall-e-2": "was retired on 2026-05-12",
    "dall-e-3": "was retired on 2026-05-12",
}
STANDARD_SIZES = ((1024, 1024), (1536, 1024), (1024, 1536))
# Models the SDK documents as taking any WIDTHxHEIGHT: sides divisible by 16, aspect 1:3 to 3:1,
# at most 3840x2160. Every other model (and any name this list does not know) gets STANDARD_SIZES.
FREE_SIZE_MODELS = (
    "gpt-image-2",
    "gpt-image-2-2026-04-21",
    "gpt-image-2.5-sunburst",
    "gpt-image-2.5-sunburst-2026-09-08",
    "gpt-image-2.5-flare",
    "gpt-image-2.5-flare-2026-09-08",
)
MAX_FREE_EDGE, MAX_FREE_PIXELS = 3840, 3840 * 2160
QUALITIES = ("low", "medium", "high", "xhigh", "max", "auto")
FIDELITIES = ("low", "high")
DEFAULT_RETRY_WAIT_S = 1.0
_sleep = time.sleep  # one name for the retry wait, so tests can watch it without sleeping


def size_problem(model: str, width: int, height: int) -> str | None:
    """Why `model` cannot make a width x height image, or None when it can."""
    if model in FREE_SIZE_MODELS:
        if width % 16 or height % 16:
            return f"{model} needs both sides divisible by 16"
        if max(width, height) > 3 * min(width, height):
            return f"{model} needs an aspect ratio between 1:3 and 3:1"
        if max(width, height) > MAX_FREE_EDGE or width * height > MAX_FREE_PIXELS:
            return f"{model} makes at most 3840x2160"
        return None
    if (width, height) not in STANDARD_SIZES:
        sizes = ", ".join(f"{w}x{h}" for w, h in STANDARD_SIZES)
        return (
            f"{model} makes only {sizes}; use the default 1024 px tile, or a model that takes "
            f"other sizes ({', '.join(FREE_SIZE_MODELS[:1])} and its relatives)"
        )
    return None


class OpenAIGenerator:
    """One `images.edit` call per tile. Settings (all optional):

    model (gpt-image-1.5), quality (service default), input_fidelity (service default),
    mask_threshold (0.5; null sends the soft ramp as alpha), timeout seconds (300),
    max_retries (1), max_retry_wait seconds (60).
    """

    name = "openai"
    default_blend = "mask"
    paid = True
    remote = True
    """The glue blend callers should use unless the user chose one: the model may repaint fixed
    pixels, and only the mask blend keeps them (see glue.py)."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        quality: str | None = None,
        input_fidelity: str | None = None,
        mask_threshold: float | None = 0.5,
        timeout: float = 300.0,
        max_retries: int = 1,
        max_retry_wait: float = 60.0,
        **unknown,
    ) -> None:
        if unknown:
            raise InputError(
                f"the openai backend has no setting {', '.join(sorted(unknown))}: it takes model, quality, "
                f"input_fidelity, mask_threshold, timeout, max_retries, max_retry_wait (the key and "
                f"endpoint come from OPENAI_API_KEY and OPENAI_BASE_URL only)"
            )
        if not isinstance(model, str) or not model:
            raise InputError(f"model must be a model name such as {DEFAULT_MODEL!r}, got {model!r}")
        if model in RETIRED_MODELS:
            raise InputError(
                f"OpenAI's {model} {RETIRED_MODELS[model]}: choose a current model such as "
                f"{DEFAULT_MODEL} or gpt-image-2 (model={DEFAULT_MODEL})"
            )
        if quality is not None and quality not in QUALITIES:
            raise InputError(f"quality must be one of {', '.join(QUALITIES)}, got {quality!r}")
        if input_fidelity is not None and input_fidelity not in FIDELITIES:
            raise InputError(f"input_fidelity must be low or high, got {input_fidelity!r}")
        if mask_threshold is not None and not (_is_number(mask_threshold) and 0 < mask_threshold <= 1):
            raise InputError(f"mask_threshold must be in (0, 1] or null, got {mask_threshold!r}")
        if not (_is_number(timeout) and timeout > 0):
            raise InputError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise InputError(f"max_retries must be a whole number >= 0, got {max_retries!r}")
        if not (_is_number(max_retry_wait) and max_retry_wait >= 0):
            raise InputError(f"max_retry_wait must be a number of seconds >= 0, got {max_retry_wait!r}")
        self.model = model
        self.quality = quality
        self.input_fidelity = input_fidelity
        self.mask_threshold = mask_threshold
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.max_retry_wait = float(max_retry_wait)

    def check_size(self, width: int, height: int) -> None:
        """Refuse, before anything is sent, a tile size this model cannot make."""
        problem = size_problem(self.model, width, height)
        if problem:
            raise InputError(f"the openai backend cannot make a {width}x{height} tile: {problem}")

    def generate(self, request: TileRequest) -> np.ndarray:
        reference = np.asarray(request.reference, dtype=np.uint8)
        height, width = reference.shape[:2]
        self.check_size(width, height)
        fields = {
            "model": self.model,
            "image": ("reference.png", png_bytes(np.ascontiguousarray(reference[:, :, :3]), 1), "image/png"),
            "mask": ("mask.png", _rgba_png(to_openai_mask(request.mask, reference, self.mask_threshold)), "image/png"),
            "prompt": request.prompt or "Continue the picture seamlessly into the empty area.",
            "size": f"{width}x{height}",
            "n": 1,
            "output_format": "png",
            "background": "opaque",
        }
        if self.quality is not None:
            fields["quality"] = self.quality
        if self.input_fidelity is not None:
            fields["input_fidelity"] = self.input_fidelity
        with self._client() as client:
            answer = self._edit_with_retries(client, fields, request)
        tile = self._decode(answer, width, height)
        request.report(1.0, "OpenAI tile received")
        return tile

    # ---- internals --------------------------------------------------------------------------

    def _client(self) -> openai.OpenAI:
        try:
            return openai.OpenAI(max_retries=0, timeout=self.timeout)
        except openai.OpenAIError:
            raise GenerationError(
                "no OpenAI API key: set the environment variable OPENAI_API_KEY for this process "
                "(exquisite never stores it)"
            ) from None

    def _edit_with_retries(self, client, fields: dict, request: TileRequest):
        attempts = 1 + self.max_retries
        for attempt in range(1, attempts + 1):
            request.report(
                0.05,
                f"asking OpenAI {self.model} for a {fields['size']} tile"
                + (f" (attempt {attempt} of {attempts})" if attempt > 1 else ""),
            )
            try:
                return client.images.edit(**fields)
            except openai.APIError as error:
                if attempt == attempts or not _retry_can_help(error):
                    raise GenerationError(self._explain(error, attempt)) from None
                wait = _retry_after_s(error)
                if wait is None:
                    wait = DEFAULT_RETRY_WAIT_S
                if wait > self.max_retry_wait:
                    raise GenerationError(
                        self._explain(error, attempt) + f" OpenAI asked to wait {wait:.0f} s before trying "
                        f"again, longer than max_retry_wait={self.max_retry_wait:g}"
                    ) from None
                request.report(0.05, f"OpenAI: {_short(error)}; trying again in {wait:.1f} s")
                _sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _explain(self, error: openai.APIError, attempts: int) -> str:
        """A reason a user can act on; never the key or the endpoint."""
        tried = f" (after {attempts} attempts)" if attempts > 1 else ""
        said = _scrub(_server_message(error))
        if isinstance(error, openai.APITimeoutError):
            return (
                f"OpenAI did not answer within {self.timeout:g} s{tried}; nothing was glued. Try the "
                f"step again, or allow longer with the backend setting timeout=SECONDS"
            )
        if isinstance(error, openai.APIConnectionError):
            return (
                f"could not reach the OpenAI API{tried}: check the network connection (and "
                f"OPENAI_BASE_URL if you set it)"
            )
        if isinstance(error, openai.AuthenticationError):
            return (
                "OpenAI rejected the API key (HTTP 401): check OPENAI_API_KEY (a current key of a "
                "project that may use image models)"
            )
        if isinstance(error, openai.PermissionDeniedError):
            return f"OpenAI refused access (HTTP 403): {said or 'this key may not use ' + self.model}"
        if isinstance(error, openai.NotFoundError):
            return (
                f"OpenAI does not offer model {self.model!r} to this key, or the endpoint is wrong "
                f"(HTTP 404): {said}".rstrip(": ")
            )
        if isinstance(error, openai.BadRequestError) and error.code == "moderation_blocked":
            return (
                "OpenAI's safety system refused this edit (moderation_blocked): change the prompt, "
                "or the picture, and try again" + (f". OpenAI said: {said}" if said else "")
            )
        if isinstance(error, openai.RateLimitError):
            if error.code == "insufficient_quota":
                return f"OpenAI says the account's quota is used up (insufficient_quota): check billing. {said}".strip()
            return (
                f"OpenAI kept rate-limiting the request (HTTP 429){tried}: wait a little and try again. {said}".strip()
            )
        if isinstance(error, openai.InternalServerError):
            return (f"OpenAI had a server error (HTTP {error.status_code}){tried}: try again later. {said}").strip()
        if isinstance(error, openai.APIStatusError):
            code = f", {error.code}" if error.code else ""
            return f"OpenAI rejected the request (HTTP {error.status_code}{code}): {said or 'no reason given'}"
        return f"the OpenAI request failed: {said or type(error).__name__}"

    def _decode(self, answer, width: int, height: int) -> np.ndarray:
        data = getattr(answer, "data", None) or []
        encoded = getattr(data[0], "b64_json", None) if data else None
        if not encoded:
            raise GenerationError("OpenAI answered without an image; nothing was glued. Try the step again")
        try:
            raw = base64.b64decode(encoded, validate=True)
            tile = decode_image_bytes(raw, "image OpenAI returned")
        except (binascii.Error, ValueError, InputError) as bad:
            raise GenerationError(
                f"OpenAI's image could not be read ({_scrub(str(bad))}); it may have been cut off in "
                f"transit. Nothing was glued: try the step again"
            ) from None
        if tile.shape[:2] != (height, width):
            raise GenerationError(
                f"OpenAI returned a {tile.shape[1]}x{tile.shape[0]} image but the tile is {width}x{height}; "
                f"nothing was glued. Check that model {self.model} makes {width}x{height} images"
            )
        return np.ascontiguousarray(tile)


def _retry_can_help(error: openai.APIError) -> bool:
    if isinstance(error, openai.APITimeoutError):
        return False  # the image may still be painted and billed; another try doubles the wait and cost
    if isinstance(error, openai.APIConnectionError):
        return True
    if isinstance(error, openai.RateLimitError):
        return error.code != "insufficient_quota"
    return isinstance(error, openai.APIStatusError) and error.status_code >= 500


def _retry_after_s(error: openai.APIError) -> float | None:
    """Seconds the server asked us to wait (retry-after-ms, retry-after seconds or HTTP date)."""
    response = getattr(error, "response", None)
    if response is None:
        return None
    headers = response.headers
    for header, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(header)
        if value is not None:
            try:
                seconds = float(value) / divisor
                if math.isfinite(seconds) and seconds >= 0:
                    return seconds
            except ValueError:
                pass
    value = headers.get("retry-after")
    if value:
        try:
            moment = email.utils.parsedate_to_datetime(value)
            return max(0.0, moment.timestamp() - time.time())
        except (TypeError, ValueError):
            return None
    return None


def _server_message(error: openai.APIError) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    if isinstance(error, openai.APIStatusError):
        return ""  # the SDK's own text repeats the raw body; the status says enough
    return str(getattr(error, "message", "") or "")


def _short(error: openai.APIError) -> str:
    status = getattr(error, "status_code", None)
    return f"HTTP {status}" if status else "connection failed"


_KEY_PATTERN = re.compile(r"\b(sk|rk|sess)-[A-Za-z0-9_\-*]{4,}")


def _scrub(text: str) -> str:
    """Remove the key, anything shaped like a key, and the endpoint from text shown to a user."""
    for secret in (os.environ.get("OPENAI_API_KEY"), os.environ.get("OPENAI_BASE_URL")):
        if secret:
            text = text.replace(secret, "[redacted]")
    return _KEY_PATTERN.sub("[redacted]", text)


def _rgba_png(rgba: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


register("openai", OpenAIGenerator)
