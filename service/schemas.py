"""Request and response schemas, declared once: they validate requests and generate OpenAPI 3.

Field names carry units (``ab2_m``, ``rho_ohmm``, ``periods_s``). Requests forbid unknown fields
so that typos are reported instead of silently ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Finite = Annotated[float, Field(allow_inf_nan=False, strict=True)]  # no bools or strings
PositiveFinite = Annotated[float, Field(gt=0, allow_inf_nan=False, strict=True)]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
Name = Annotated[str, Field(pattern=NAME_PATTERN, description="letters, digits, . _ - (≤64)")]


class Strict(BaseModel):
    """Base of request bodies: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- errors and health


class ErrorBody(BaseModel):
    code: str = Field(description="machine-readable code, e.g. invalid_data, not_found")
    message: str = Field(description="human-readable message naming the field and the problem")
    details: list[Any] = Field(default_factory=list)


class Error(BaseModel):
    """The one error shape of every 4xx/5xx answer."""

    error: ErrorBody


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: dict[str, Any]
    broker: dict[str, Any]
    version: str


# ---------------------------------------------------------------- forward models


class ForwardModelInfo(BaseModel):
    name: str
    parameters: list[str] = Field(description="parameter names for the example geometry")
    geometry_fields: list[str]
    axis_name: str
    data_kinds: list[str] = Field(description="per datum: rho_a (ohm·m) or phase (degrees)")
    example: dict[str, Any] = Field(description="an example config accepted by /forward")


class ForwardRequest(Strict):
    """``config`` is the forward model's spec without the name (n_layers + geometry)."""

    config: dict[str, Any] = Field(
        description="n_layers and geometry, e.g. {n_layers: 3, ab2_m: [...], mn2_m: 0.5}"
    )
    models: list[list[Finite]] = Field(
        min_length=1,
        max_length=10000,
        description="rows [rho_1..rho_N (ohm·m), h_1..h_{N-1} (m)]",
    )


class ForwardResponse(BaseModel):
    data: list[list[float]]
    data_names: list[str]
    parameter_names: list[str]


# ---------------------------------------------------------------- training jobs


class ForwardModelSpec(BaseModel):
    """A forward-model spec: ``name``, ``n_layers`` and the geometry keywords of that model."""

    model_config = ConfigDict(extra="allow")
    name: str = Field(min_length=1, max_length=64)
    n_layers: int = Field(default=3, ge=1, le=10)


#: physical ranges a training domain must stay inside (beyond them the forward models overflow)
Resistivity = Annotated[float, Field(ge=1e-4, le=1e8, allow_inf_nan=False, strict=True)]
Thickness = Annotated[float, Field(ge=1e-3, le=1e5, allow_inf_nan=False, strict=True)]


class Bounds(Strict):
    rho_ohmm: tuple[Resistivity, Resistivity] = Field(
        default=(1.0, 5000.0), description="ohm·m, within [1e-4, 1e8]"
    )
    thickness_m: tuple[Thickness, Thickness] = Field(
        default=(0.5, 100.0), description="m, within [1e-3, 1e5]"
    )
    max_depth_m: PositiveFinite | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Bounds:
        for field in ("rho_ohmm", "thickness_m"):
            lo, hi = getattr(self, field)
            if not lo < hi:
                raise ValueError(f"{field}: lower bound {lo} must be below upper bound {hi}")
        return self


class NoiseSpec(Strict):
    rho_a_rel: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] = 0.03
    phase_deg: Annotated[float, Field(ge=0, le=45, allow_inf_nan=False)] = 1.0


class NetworkSpec(BaseModel):
    """Hyperparameters of ``bpnet`` networks (any key of ``bpnet.network.HYPERPARAMETERS``, each
    checked against that table); ``n_members`` > 1 trains an ensemble."""

    model_config = ConfigDict(extra="allow")
    hidden: int = Field(default=64, ge=1, le=4096)
    activation: str = "tanh"
    optimizer: str = "adam"
    learning_rate: Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)] = 1e-3
    batch_size: int = Field(default=256, ge=1, le=1_000_000)
    max_epochs: int = Field(default=300, ge=1, le=100_000)
    early_stopping: bool = True
    validation_fraction: Annotated[float, Field(gt=0, le=0.5)] = 0.15
    patience: int = Field(default=20, ge=1, le=100_000)
    n_members: int = Field(default=5, ge=1, le=64)
    device: Literal["auto", "cpu", "gpu"] = "auto"


class TrainingJobCreate(Strict):
    """A training job. Everything but ``name`` and ``forward_model`` has a default."""

    name: Name
    forward_model: ForwardModelSpec
    bounds: Bounds = Field(default_factory=Bounds)
    n_samples: int = Field(default=100_000, ge=100, le=5_000_000)
    n_test: int | None = Field(
        default=None, ge=50, le=1_000_000, description="held-out set size (default 10%)"
    )
    sampler: Literal["sobol", "lhs", "random"] = "sobol"
    noise: NoiseSpec = Field(default_factory=NoiseSpec)
    seed: int = Field(default=1, ge=0, le=2**31 - 1)
    n_chunks: int | None = Field(default=None, ge=1, le=256, description="dataset chunks")
    network: NetworkSpec = Field(default_factory=NetworkSpec)


class Links(BaseModel):
    self: str
    network: str | None = None


class JobProgress(BaseModel):
    stage: str
    fraction: float
    epoch: int | None = None
    max_epochs: int | None = None
    train_loss: float | None = None
    val_loss: float | None = None


class TrainingJob(BaseModel):
    id: str
    name: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    progress: JobProgress
    network_id: str | None
    error: str | None
    attempts: int
    retry_reasons: list[str]
    spec: dict[str, Any]
    schedule_id: str | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    links: Links


class TrainingJobList(BaseModel):
    items: list[TrainingJob]


# ---------------------------------------------------------------- networks


class NetworkResource(BaseModel):
    id: str
    name: str
    version: int
    aliases: list[str]
    forward_model: dict[str, Any]
    domain: dict[str, list[float]] = Field(description="parameter name → [low, high]")
    noise: dict[str, Any]
    network: dict[str, Any] = Field(description="hyperparameters")
    metrics: dict[str, Any]
    lineage: dict[str, Any]
    created_at: str | None


class NetworkList(BaseModel):
    items: list[NetworkResource] = Field(description="scalar metrics only in each entry")
    next_offset: int | None = Field(
        default=None, description="offset of the next page (null on the last page)"
    )


class AliasRequest(Strict):
    alias: Literal["production", "latest"] = "production"


class ReversedGates(Strict):
    """TEM gates where the transient has reversed sign (induced polarisation), left out of the
    layered fit and fitted by the polarisable (Cole–Cole) model; the file readers give them."""

    times_s: list[Finite] = Field(min_length=1, description="gate times (s)")
    dbzdt_v_per_am2: list[Finite] = Field(description="−dBz/dt per ampere, V/(A·m²), < 0")
    dbzdt_error_percent: list[Finite] = Field(description="errors, % of |−dBz/dt|")


class Observation(Strict):
    """One sounding in the layout of the network's forward model (VES, Wenner, MT or TEM)."""

    ab2_m: list[Finite] | None = None
    mn2_m: Finite | list[Finite] | None = None
    a_m: list[Finite] | None = None
    periods_s: list[Finite] | None = None
    rho_a_ohmm: list[Finite] | None = None
    rho_a_error_percent: list[Finite] | None = None
    phase_deg: list[Finite] | None = None
    phase_error_deg: list[Finite] | None = None
    times_s: list[Finite] | None = Field(
        default=None, description="TEM gate times (s) from the start of the turn-off ramp"
    )
    dbzdt_v_per_am2: list[Finite] | None = Field(
        default=None, description="TEM −dBz/dt per ampere, V/(A·m²), positive while decaying"
    )
    dbzdt_error_percent: Finite | list[Finite] | None = None
    receiver: Literal["central", "coincident"] | None = Field(
        default=None, description="TEM: receiver at the loop centre, or the loop itself"
    )
    loop_side_m: Finite | None = None
    loop_radius_m: Finite | None = None
    ramp_off_s: Finite | None = None
    gate_open_s: list[Finite] | None = None
    gate_close_s: list[Finite] | None = None
    lowpass_hz: list[Finite] | None = None
    reversed_gates: ReversedGates | None = Field(
        default=None,
        description="TEM: gates below zero where the transient reverses sign (not with "
        "gate_open_s/gate_close_s); fitted only by the polarisable model",
    )
    current_a: Finite | None = Field(default=None, description="TEM current (A), for the record")
    warnings: list[str] | None = Field(
        default=None,
        description="notes about the data (e.g. from the file reader), kept in"
        " the result's warnings",
    )


class SoundingsBody(Strict):
    """Either ``data`` (one sounding) or ``soundings`` (many): the base of inversion bodies."""

    data: Observation | None = None
    soundings: list[Observation] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_of(self) -> SoundingsBody:
        if (self.data is None) == (self.soundings is None):
            raise ValueError("give exactly one of 'data' (one sounding) or 'soundings' (a list)")
        return self

    def observations(self) -> list[dict[str, Any]]:
        """The sounding(s) as observation dicts (REST layout)."""
        items = [self.data] if self.soundings is None else self.soundings
        return [item.model_dump(exclude_none=True) for item in items]


class InvertRequest(SoundingsBody):
    """Either ``data`` (one sounding) or ``soundings`` (many, vectorised)."""

    soundings: list[Observation] | None = Field(default=None, min_length=1, max_length=20000)
    refine: bool = Field(
        default=True, description="refine the network's model against the physics (Gauss–Newton)"
    )
    fixed: dict[str, Any] | list[dict[str, Any]] | None = Field(
        default=None, description="known parameters, e.g. {h1: 4.0} or {thickness_m: [4.0, null]}"
    )
    noise_floor: dict[str, float] | None = Field(
        default=None, description="minimum errors, e.g. {rho_a_rel: 0.03, phase_deg: 1.0}"
    )
    smooth: bool = Field(
        default=False,
        description="with refine: add the smooth (Occam) model and the depths of investigation "
        "(smooth, doi_m) as POST /invert does; 8–20 ms more per VES or MT sounding",
    )


class DepthOfInvestigation(BaseModel):
    """Depth of investigation (m) after Christiansen & Auken 2012: cumulative sensitivity
    thresholds 0.8 (standard) and 1.2 (conservative; never deeper than the standard one)."""

    standard: float | None = Field(description="m; null when it could not be computed")
    conservative: float | None = Field(description="m; null when it could not be computed")


class SmoothModel(BaseModel):
    """The smooth (Occam) model on a fixed stack of layers, beside the layered model."""

    depth_m: list[float] = Field(description="interface depths (N−1), m")
    thickness_m: list[float] = Field(description="layer thicknesses (N−1), m")
    rho_ohmm: list[float] = Field(description="resistivity of each layer (N), Ω·m")
    p10: list[float] = Field(description="10th percentile of each layer's resistivity, Ω·m")
    p90: list[float] = Field(description="90th percentile of each layer's resistivity, Ω·m")
    misfit: dict[str, Any] = Field(description="chi and rms_percent of the smooth model")
    doi_m: DepthOfInvestigation
    consistent: bool | None = Field(
        default=None,
        description="whether the smooth model's strongest gradients bracket the layered "
        "interfaces above the DOI (false adds a warning)",
    )


class SegmentFactor(BaseModel):
    """One shifted MN/2 segment: the factor that multiplies the model's ρa on it."""

    mn2_m: float = Field(description="MN/2 of the segment, m")
    factor: float = Field(description="model ρa × factor fits the segment's data")
    n_data: int
    beyond_errors: bool = Field(description="|ln factor| exceeds the segment's median error")


class SegmentShifts(BaseModel):
    """Level factors of overlapping MN/2 segments of a Schlumberger sounding (served path):
    fitted with the model, profiled out of the misfit; the segment with the most data is the
    reference (factor 1)."""

    applied: bool = Field(description="whether the answer uses them (auto: when BIC prefers it)")
    reference_mn2_m: float = Field(description="MN/2 of the reference segment, m")
    segments: list[SegmentFactor]
    n_layers_with_shifts: int
    chi_with_shifts: float | None
    chi_without_shifts: float | None = Field(description="null when not searched (always)")


class PolarisableModel(BaseModel):
    """A TEM sounding's best layered earth with one Cole–Cole (Pelton) layer, fitted where the
    non-polarisable layered answer stays above χ 1.5 (served path)."""

    model: dict[str, list[float]] = Field(
        description="rho_ohmm (DC resistivities ρ_0, Ω·m), thickness_m, depth_m, and per layer "
        "chargeability (0 ≤ m < 1; 0 where the layer does not polarise), tau_s (s) and c"
    )
    n_layers: int
    polarisable_layer: int = Field(description="the polarisable layer, 1 = top")
    misfit: dict[str, Any] = Field(description="chi and rms_percent on the fitted gates")
    predicted: list[float] = Field(description="−dBz/dt per A at predicted.times_s; may be < 0")
    bic: float | None
    layered_bic: float | None = Field(description="BIC of the chosen non-polarisable answer")
    preferred: bool = Field(
        description="whether BIC prefers the polarisable model (a warning "
        "says so); the layered model, its bands and the smooth model ignore IP"
    )
    at_bounds: list[str] = Field(
        description="parameters that ended at a search bound (not bounded by the data)"
    )
    uncertainty: dict[str, Any] = Field(
        description="linearised p10/p90 of rho_ohmm and thickness_m (lists) and of the "
        "polarisable layer's chargeability, tau_s and c (numbers), clipped to the bounds"
    )


class InversionResult(BaseModel):
    model: dict[str, list[float]]
    uncertainty: dict[str, Any]
    predicted: dict[str, Any]
    misfit: dict[str, Any]
    in_domain: bool
    warnings: list[str]
    network: dict[str, Any]
    elapsed_ms: float
    doi_m: DepthOfInvestigation | None = Field(
        default=None, description="depth of investigation of the layered model (served path)"
    )
    smooth: SmoothModel | None = Field(
        default=None, description="the smooth model with its own DOI (served path)"
    )
    segment_shifts: SegmentShifts | None = Field(
        default=None,
        description="segment level factors of a Schlumberger sounding with overlapping MN/2 "
        "segments (served path); null when there are none or segment_shifts=never",
    )
    ip: PolarisableModel | None = Field(
        default=None,
        description="TEM: the best fit with one polarisable (Cole–Cole) layer where the layered "
        "answer stays above χ 1.5 (served path); null otherwise",
    )


class InversionBatch(BaseModel):
    items: list[InversionResult]
    elapsed_ms: float


# ---------------------------------------------------------------- schedules


class ServedRetrain(Strict):
    """Champion/challenger retraining of the served network of ``method`` and ``n_layers``: a
    challenger trained with ``settings`` replaces the production version only when its median
    network-only χ on the fixed held-out set (``n_eval`` soundings, ``seed``) is lower by more
    than ``margin`` (relative)."""

    method: str = Field(description="a served VES or MT method, e.g. mt-1d")
    n_layers: int = Field(ge=2, le=6)
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="TrainingSettings keywords: n_samples, n_members, network {hidden, "
        "max_epochs, learning_rate, schedule}, seed, rho_a_rel, phase_deg, data_misfit_weight, "
        "misfit_cauchy_scale {method: scale}; keys not given take the physics-guided challenger "
        "defaults (120,000 soundings, 3 × 256 hidden, 100 epochs, cosine schedule from 3e-3, "
        "data_misfit_weight 0.3, misfit_cauchy_scale 2 for VES)",
    )
    margin: float = Field(default=0.0, ge=0.0, lt=1.0)
    n_eval: int = Field(default=100, ge=5, le=2000)
    seed: int = Field(default=20261206, ge=0, lt=2**31)


class ScheduleCreate(Strict):
    """Retrain on a cron schedule: give a full training ``spec``, or ``network`` to retrain the
    spec that produced that network name's latest version, or ``served`` for a champion/challenger
    retraining of a served network."""

    name: Name
    cron: str = Field(min_length=9, max_length=128, description="5-field cron, UTC")
    spec: TrainingJobCreate | None = None
    network: Name | None = None
    served: ServedRetrain | None = None
    enabled: bool = True

    @model_validator(mode="after")
    def _one_of(self) -> ScheduleCreate:
        if sum(x is not None for x in (self.spec, self.network, self.served)) != 1:
            raise ValueError(
                "give exactly one of 'spec' (a training job), 'network' (a name) or 'served' "
                "(a served network's champion/challenger retraining)"
            )
        return self


class ScheduleResource(BaseModel):
    id: str
    name: str
    cron: str
    spec: dict[str, Any]
    enabled: bool
    next_run_at: str | None
    last_run_at: str | None
    last_job_id: str | None
    created_at: str | None


class ScheduleList(BaseModel):
    items: list[ScheduleResource]


class ForwardModelList(BaseModel):
    items: list[ForwardModelInfo]
