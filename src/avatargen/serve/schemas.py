"""Typed request and response bodies of the avatargen HTTP API (pydantic models; they make /docs)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    """Every 4xx answer: what went wrong in one line, plus the names a client needs to fix it."""

    error: str = Field(
        description="Kind: unknown_attribute, unknown_value, impossible_pins, too_many, bad_size, "
        "bad_parameter, not_found, too_large (body over the limit), length_required, no_avatars"
    )
    message: str = Field(description="One line naming the attribute, value or rule and the fix.")
    attribute: str | None = None
    value: str | None = None
    known: list[str] | None = Field(None, description="The attributes or values that would be accepted.")
    rule: str | None = Field(None, description="The hard rule that makes the pins impossible.")


class Factor(BaseModel):
    """One chain-rule factor: P(attribute = value | given)."""

    attribute: str
    value: str
    given: str = Field(description="'parent=value', or '' for a root attribute.")
    probability: float


class StyleOut(BaseModel):
    """A style drawn for a seed under the pins, with P(style) and its chain-rule breakdown."""

    seed: int
    pins: dict[str, str]
    style: dict[str, str]
    probability: float = Field(description="P(style), the product of the breakdown's factors.")
    given_probability: float = Field(description="P(style | pins) = P(style) / P(pins).")
    pins_probability: float = Field(description="P(pins) by the law of total probability (1 without pins).")
    breakdown: list[Factor]
    svg_url: str
    png_url: str


class ProbabilityIn(BaseModel):
    """A full style (every attribute) or a partial one (some attributes)."""

    style: dict[str, str] = Field(
        description="attribute -> value", examples=[{"hairstyle": "bob", "hair_color": "blonde"}]
    )


class ProbabilityOut(BaseModel):
    """P(style): the chain rule for a full style, the law of total probability for a partial one."""

    style: dict[str, str]
    full: bool
    method: str = Field(description="'chain rule' or 'total probability'")
    probability: float
    log2_probability: float | None = Field(None, description="log2 P(style); null when P = 0.")
    breakdown: list[Factor] | None = Field(None, description="Chain-rule factors (full styles only).")


class ValueProbability(BaseModel):
    """One value of an attribute and its probability."""

    value: str
    probability: float


class PosteriorOut(BaseModel):
    """P(query = value | pins) for every value of the query attribute (Bayes' rule, exact)."""

    query: str
    given: dict[str, str]
    evidence_probability: float = Field(description="P(pins)")
    posterior: list[ValueProbability]


class AttributeMarginals(BaseModel):
    """An attribute's values with their probabilities given the pins on the other attributes."""

    attribute: str
    pinned: str | None = Field(None, description="The pinned value, if this attribute is pinned.")
    given: dict[str, str] = Field(description="The pins this distribution is conditioned on.")
    values: list[ValueProbability]


class MarginalsOut(BaseModel):
    """For every attribute, P(value | the pins on the other attributes)."""

    pins: dict[str, str]
    pins_probability: float
    n_styles: int = Field(description="Number of full styles with positive probability under the pins.")
    attributes: list[AttributeMarginals]


class SampledStyle(BaseModel):
    """A style with P(style) and P(style | pins), and the URLs that draw it."""

    style: dict[str, str]
    probability: float
    given_probability: float
    svg_url: str
    png_url: str


class SampleOut(BaseModel):
    """Styles drawn from P(. | pins) (or the most probable ones, best first)."""

    pins: dict[str, str]
    pins_probability: float
    seed: int | None = None
    unique: bool = False
    styles: list[SampledStyle]


class AttributeSchema(BaseModel):
    """One attribute of the model: its values, its parent in the tree, and how it is drawn."""

    name: str
    values: list[str]
    parent: str | None
    drawn_as: dict[str, str] = Field(description="value -> the avatar parts it sets (from the mapping).")


class MappingSchema(BaseModel):
    """The mapping in use from attribute values to avatar parts."""

    name: str
    description: str
    defaults: dict[str, str] = Field(description="Parts no attribute sets and how they are drawn.")


class LimitsSchema(BaseModel):
    """Limits of this server."""

    max_n: int
    max_k: int
    min_side: int
    max_side: int
    default_size: str
    reserved_parameters: list[str]


class SchemaOut(BaseModel):
    """Attributes, values, structure, rules and the mapping in use."""

    attributes: list[AttributeSchema]
    rules: list[str]
    n_rows: int
    data_kind: str
    entropy_bits: float
    n_styles: int
    mapping: MappingSchema
    limits: LimitsSchema
    model_digest: str
