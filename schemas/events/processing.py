"""Transformations: fresh processing at origin, 炮制, splits, merges and packing."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from schemas.events.common import (
    Body,
    DateStr,
    GS1Text,
    Gtin,
    Identifier,
    Label,
    Portion,
    Quantity,
    StepCode,
    Text,
)


class Output(Portion):
    """A batch a transformation produces, with its form (e.g. 红参, 鹿茸片)."""

    form: Text | None = None


class _Transform(Body):
    inputs: Annotated[list[Portion], Field(min_length=1, max_length=100)]
    outputs: Annotated[list[Output], Field(min_length=1, max_length=100)]
    steps: Annotated[list[StepCode], Field(min_length=1, max_length=20)]
    site: Identifier
    started_on: DateStr
    finished_on: DateStr | None = None
    parameters: dict[Label, Text] | None = Field(
        default=None, max_length=20, description="e.g. {'蒸制温度': '100 °C', '时长': '3 h'}"
    )

    @model_validator(mode="after")
    def _distinct_batches(self) -> _Transform:
        ins = [p.batch for p in self.inputs]
        outs = [p.batch for p in self.outputs]
        if len(set(ins)) != len(ins) or len(set(outs)) != len(outs):
            raise ValueError("a batch appears twice among the inputs or the outputs")
        if set(ins) & set(outs):
            raise ValueError("a batch cannot be both input and output")
        return self


class FreshProcessing(_Transform):
    """产地趁鲜加工: processing of fresh material at the origin (wash, slice, dry)."""

    type: Literal["fresh_processing"]


class Processing(_Transform):
    """炮制: processing in a plant, e.g. steaming fresh ginseng into 红参."""

    type: Literal["processing"]


class Split(Body):
    """A batch divided into child batches."""

    type: Literal["split"]
    batch: Identifier
    children: Annotated[list[Portion], Field(min_length=1, max_length=1000)]

    @model_validator(mode="after")
    def _distinct(self) -> Split:
        names = [c.batch for c in self.children]
        if len(set(names)) != len(names) or self.batch in names:
            raise ValueError("child batches must be distinct and differ from the parent")
        return self


class Merge(Body):
    """Batches of the same herb combined into one."""

    type: Literal["merge"]
    inputs: Annotated[list[Portion], Field(min_length=2, max_length=100)]
    output: Portion

    @model_validator(mode="after")
    def _distinct(self) -> Merge:
        names = [p.batch for p in self.inputs]
        if len(set(names)) != len(names) or self.output.batch in names:
            raise ValueError("input batches must be distinct and differ from the output")
        return self


class Product(Body):
    """A packed product's GS1 identity: GTIN and lot (batch) number."""

    gtin: Gtin
    lot: GS1Text
    name: Text | None = None


class Pack(Body):
    """Packing part of a batch into serialised units, each with its own Digital Link."""

    type: Literal["pack"]
    batch: Identifier = Field(description="The batch packed from")
    packed_batch: Identifier = Field(description="ID of the new batch of packed units")
    product: Product
    unit_quantity: Quantity = Field(description="Net content of one unit")
    serials: Annotated[list[GS1Text], Field(min_length=1, max_length=10_000)]
    packed_on: DateStr

    @model_validator(mode="after")
    def _distinct(self) -> Pack:
        if len(set(self.serials)) != len(self.serials):
            raise ValueError("serial numbers must be distinct")
        if self.packed_batch == self.batch:
            raise ValueError("the packed batch is a new batch")
        return self
