"""The offline backend "local": a weight-free continuation of the band (prototype)."""

from __future__ import annotations

import numpy as np

from ..errors import GenerationError, InputError
from ..generators import TileRequest, register, seeded_rng

try:  # optional extra: only speeds things up / smooths seams
    import cv2
except ImportError:  # pragma: no cover - exercised by monkeypatching in the tests
    cv2 = None


_DIRECTIONS = ("x_ltr", "x_rtl", "y_ttb", "y_btt")


def _to_canonical(a: np.ndarray, direction: str) -> np.ndarray:
    if direction == "x_ltr":
        return a
    if direction == "x_rtl":
        return a[:, ::-1]
    if direction == "y_ttb":
        return a.swapaxes(0, 1)
    return a[::-1].swapaxes(0, 1)  # y_btt: band at the bottom -> band on the left


def _from_canonical(a: np.ndarray, direction: str) -> np.ndarray:
    if direction == "x_ltr":
        return a
    if direction == "x_rtl":
        return a[:, ::-1]
    if direction == "y_ttb":
        return a.swapaxes(0, 1)
    return a.swapaxes(0, 1)[::-1]


def _downscale(img: np.ndarray, s: int) -> np.ndarray:
    if s == 1:
        return img.astype(np.float32)
    h, w = img.shape[0] // s * s, img.shape[1] // s * s
    a = img[:h, :w].astype(np.float32)
    return a.reshape(h // s, s, w // s, s, *a.shape[2:]).mean(axis=(1, 3))


class _Matcher:
    """Masked sum of squared differences of a template against every position of a source (FFT)."""

    def __init__(self, src: np.ndarray, p: int) -> None:
        self.h, self.w = src.shape[:2]
        self.p = p
        self.shape = (self.h, self.w)
        self.f_src = [np.fft.rfft2(src[..., c]) for c in range(3)]
        self.f_sq = np.fft.rfft2((src.astype(np.float64) ** 2).sum(axis=2))

    def ssd(self, templ: np.ndarray, weight: np.ndarray) -> np.ndarray:
        acc = self.f_sq * np.conj(np.fft.rfft2(weight, self.shape))
        for c in range(3):
            acc -= 2.0 * self.f_src[c] * np.conj(np.fft.rfft2(weight * templ[..., c], self.shape))
        corr = np.fft.irfft2(acc, self.shape)
        n = self.p
        out = corr[: self.h - n + 1, : self.w - n + 1]
        return out + float((weight[..., None] * templ.astype(np.float64) ** 2).sum())


def _min_cut_vertical(err: np.ndarray) -> np.ndarray:
    """err (H, w): column index of the cheapest top-to-bottom path; returns per-row cut column."""
    h, w = err.shape
    cost = err.astype(np.float64).copy()
    back = np.zeros((h, w), np.int64)
    big = np.inf
    for y in range(1, h):
        prev = cost[y - 1]
        left = np.concatenate(([big], prev[:-1]))
        right = np.concatenate((prev[1:], [big]))
        stack = np.stack((left, prev, right))
        arg = stack.argmin(axis=0)
        cost[y] += stack[arg, np.arange(w)]
        back[y] = arg - 1
    path = np.empty(h, np.int64)
    path[-1] = int(cost[-1].argmin())
    for y in range(h - 1, 0, -1):
        path[y - 1] = min(max(path[y] + back[y, path[y]], 0), w - 1)
    return path


def _box_blur(a: np.ndarray, r: int) -> np.ndarray:
    if r <= 0:
        return a
    if cv2 is not None:
        return cv2.blur(a, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REPLICATE)
    k = 2 * r + 1
    p = np.pad(a, r, mode="edge")
    c = np.cumsum(np.pad(p, ((1, 0), (0, 0))), axis=0)
    p = (c[k:] - c[:-k]) / k
    c = np.cumsum(np.pad(p, ((0, 0), (1, 0))), axis=1)
    return (c[:, k:] - c[:, :-k]) / k


def _smooth1d(a: np.ndarray, r: int, axis: int = 0) -> np.ndarray:
    if r <= 0:
        return a
    k = 2 * r + 1
    pad = [(0, 0)] * a.ndim
    pad[axis] = (r, r)
    p = np.pad(a, pad, mode="edge")
    c = np.cumsum(p, axis=axis, dtype=np.float64)
    c = np.concatenate([np.zeros_like(np.take(c, [0], axis=axis)), c], axis=axis)
    hi = np.take(c, np.arange(k, c.shape[axis]), axis=axis)
    lo = np.take(c, np.arange(0, c.shape[axis] - k), axis=axis)
    return ((hi - lo) / k).astype(np.float32)


def _guide(band_lr: np.ndarray, width_lr: int, drift: float) -> np.ndarray:
    """A smooth guess at the free region: the frontier's colours stretched outward, drifting toward
    the band's average along each line (sky stays sky, ground stays ground)."""
    h, wbl = band_lr.shape[:2]
    k = max(2, wbl // 16)
    frontier = _smooth1d(band_lr[:, -k:].mean(axis=1), max(1, h // 64))
    rowmean = _smooth1d(band_lr.mean(axis=1), max(1, h // 24))
    t = (np.arange(width_lr, dtype=np.float32) + 0.5) / max(width_lr, 1)
    w = (drift * t)[None, :, None]
    g = frontier[:, None, :] * (1 - w) + rowmean[:, None, :] * w
    return np.concatenate([_blur2(band_lr, max(1, h // 64)), g], axis=1)


def _blur2(a: np.ndarray, r: int) -> np.ndarray:
    return _smooth1d(_smooth1d(a, r, 0), r, 1)


def quilt(band: np.ndarray, width: int, seed: int, *, report=None, patch_frac=0.125,
          overlap_frac=0.25, tol=0.15, row_weight=3000.0, col_weight=0.0, guide_weight=1.0,
          drift=0.6, offset_clamp=24.0):
    """Continue `band` (H, wb, 3) to the right by `width` px; returns (H, wb + width, 3) float32."""
    H, wb = band.shape[:2]
    W = wb + width
    s = max(1, int(round(H / 256)))
    P = max(8, int(round(H * patch_frac / s)) * s)
    P = min(P, wb // s * s, H // s * s)
    p = P // s
    O = max(s, int(round(P * overlap_frac / s)) * s)
    step = P - O
    rng = seeded_rng(seed, "local", "quilt")

    src_lr = _downscale(band, s)
    matcher = _Matcher(src_lr, p)
    rg = max(1, src_lr.shape[0] // 64)
    gmatcher = _Matcher(_blur2(src_lr, rg), p) if guide_weight else None
    guide = _guide(src_lr, (W - src_lr.shape[1] * s + s - 1) // s, drift) if guide_weight else None
    ones = np.ones((p, p), np.float32)
    ny, nx = src_lr.shape[0] - p + 1, src_lr.shape[1] - p + 1
    cand_y = (np.arange(ny) * s)[:, None].astype(np.float64)
    cand_x = (np.arange(nx) * s)[None, :].astype(np.float64)

    xs = list(range(wb - O, W - P, step)) + [W - P]
    ys = list(range(0, H - P, step)) + [H - P]
    xs = sorted(set(xs))
    ys = sorted(set(ys))

    canvas = np.zeros((H, W, 3), np.float32)
    canvas[:, :wb] = band
    filled = np.zeros((H, W), bool)
    filled[:, :wb] = True
    total = len(xs) * len(ys)
    done = 0
    band_f = band.astype(np.float32)
    for ix, x in enumerate(xs):
        ol = O if ix == 0 else xs[ix - 1] + P - x
        for iy, y in enumerate(ys):
            ot = 0 if iy == 0 else ys[iy - 1] + P - y
            region = canvas[y:y + P, x:x + P]
            F = filled[y:y + P, x:x + P]
            t_lr = _downscale(region, s)
            m_lr = _downscale(F.astype(np.float32), s)
            cost = matcher.ssd(t_lr, m_lr) / max(float(m_lr.sum()), 1.0) / 3.0
            cost = np.maximum(cost, 0.0)
            if gmatcher is not None:
                yl, xl = y // s, x // s
                gp = guide[yl:yl + p, xl:xl + p]
                if gp.shape[:2] == (p, p):
                    cost = cost + guide_weight * np.maximum(gmatcher.ssd(gp, ones), 0) / (3 * p * p)
            cost = cost + row_weight * ((cand_y - y) / H) ** 2
            if col_weight:
                cost = cost + col_weight * ((wb - P - cand_x) / max(wb, 1)) ** 2
            best = float(cost.min())
            ok = np.flatnonzero(cost.ravel() <= best * (1 + tol) + 1.0)
            pick = int(ok[rng.integers(len(ok))])
            sy, sx = divmod(pick, nx)
            sy *= s
            sx *= s
            patch = band_f[sy:sy + P, sx:sx + P]
            if offset_clamp and F.any():
                off = (region[F] - patch[F]).mean(axis=0)
                patch = patch + np.clip(off, -offset_clamp, offset_clamp)
            err = ((region - patch) ** 2).sum(axis=2)
            new = np.ones((P, P), bool)
            if ol > 0:
                cut = _min_cut_vertical(err[:, :ol])
                new &= np.arange(P)[None, :] > cut[:, None]
            if ot > 0:
                cut = _min_cut_vertical(err[:ot, :].T)
                new &= np.arange(P)[:, None] > cut[None, :]
            new |= ~F
            alpha = _box_blur(new.astype(np.float32), max(1, s // 2))
            alpha[~F] = 1.0
            canvas[y:y + P, x:x + P] = region * (1 - alpha[..., None]) + patch * alpha[..., None]
            filled[y:y + P, x:x + P] = True
            done += 1
            if report is not None and done % max(1, total // 4) == 0:
                report(0.1 + 0.8 * done / total, f"local: {done}/{total} patches")
    return canvas


class LocalGenerator:
    name = "local"
    _SETTINGS = {"method": ("quilt",)}

    def __init__(self, **settings) -> None:
        unknown = sorted(set(settings) - set(self._SETTINGS))
        if unknown:
            raise InputError(f"the local backend does not know the setting(s) {unknown}")
        self.method = settings.get("method", "quilt")

    def generate(self, request: TileRequest) -> np.ndarray:
        ref = np.asarray(request.reference)
        mask = np.asarray(request.mask, dtype=np.float32)
        d = request.direction
        r = _to_canonical(ref, d)
        m = _to_canonical(mask, d)
        col_min = m.min(axis=0)
        free = col_min >= 0.99
        nfree = 0
        while nfree < free.size and free[free.size - 1 - nfree]:
            nfree += 1
        wb = r.shape[1] - nfree
        request.report(0.05, "local: matching")
        out = quilt(r[:, :wb], nfree, request.seed, report=request.report)
        tile = np.clip(np.rint(out), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(_from_canonical(tile, d))


register("local", LocalGenerator)
