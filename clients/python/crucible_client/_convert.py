"""Conversions between protobuf messages, NPY bytes and plain Python values."""

from __future__ import annotations

import io
from typing import Any, Dict

import numpy as np
import numpy.typing as npt
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message


def _scalar(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_ENUM:
        enum_value = field.enum_type.values_by_number.get(value)
        return enum_value.name if enum_value is not None else value
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return message_to_dict(value)
    return value


def message_to_dict(message: Message) -> Dict[str, Any]:
    """The message as a dict with proto field names, like the protobuf JSON
    mapping (enums by name, default-valued scalars and empty lists present,
    unset sub-messages and unset ``optional`` fields absent) but with Python
    numbers: int64 fields stay ints instead of strings."""
    result: Dict[str, Any] = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if field.label == FieldDescriptor.LABEL_REPEATED:
            result[field.name] = [_scalar(field, v) for v in value]
        elif field.type == FieldDescriptor.TYPE_MESSAGE or field.has_presence:
            if message.HasField(field.name):
                result[field.name] = _scalar(field, value)
        else:
            result[field.name] = _scalar(field, value)
    return result


def array_to_npy(array: "npt.ArrayLike") -> bytes:
    """The NPY file of ``array`` (C order; object arrays are refused)."""
    array = np.asarray(array)
    if array.dtype.hasobject:
        raise ValueError("arrays of Python objects cannot be uploaded")
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def npy_to_array(data: bytes) -> "npt.NDArray[Any]":
    return np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
