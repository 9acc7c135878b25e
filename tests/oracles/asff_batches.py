"""Checks rolecall's `--format asff` output (JSON Lines on stdin, one
BatchImportFindings input per line) against botocore's securityhub model.

Each line must pass botocore.validate.validate_parameters for the
BatchImportFindings input shape (which enforces at most 100 findings and the
model's types and required members); the documented field limits that the
model does not carry are checked too (Title 256, Description 1,024,
ProductFields values 2,048 characters, a finding at most 240 KB). Prints
one JSON object: {"batches", "findings", "errors"}.
"""

import json
import sys

import botocore.session
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters

shape = botocore.session.get_session().get_service_model("securityhub").operation_model("BatchImportFindings").input_shape
errors = []
batches = 0
findings = 0
for n, line in enumerate(sys.stdin, 1):
    batch = json.loads(line)
    batches += 1
    findings += len(batch.get("Findings", []))
    try:
        validate_parameters(batch, shape)
    except ParamValidationError as e:
        errors.append(f"line {n}: {e}")
    for f in batch.get("Findings", []):
        if len(f.get("Title", "")) > 256:
            errors.append(f"line {n}: Title of {len(f['Title'])} characters")
        if len(f.get("Description", "")) > 1024:
            errors.append(f"line {n}: Description of {len(f['Description'])} characters")
        for k, v in f.get("ProductFields", {}).items():
            if len(v) > 2048 or len(k) > 128:
                errors.append(f"line {n}: ProductFields {k} of {len(v)} characters")
        if len(json.dumps(f).encode()) > 240 * 1024:
            errors.append(f"line {n}: a finding over 240 KB")
print(json.dumps({"batches": batches, "findings": findings, "errors": errors[:20]}))
