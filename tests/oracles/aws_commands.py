"""Checks AWS CLI command lines against botocore's service models.

Reads one `aws SERVICE OPERATION --param value ...` command per line on
stdin. For each, the service and operation must exist in botocore's models,
every `--param` must be a member of the operation's input, every required
member must be given, and the values must pass botocore's own parameter
validation (shorthand `Key=Value,...` for structures) and their enums. Prints one JSON
object per command, {"command", "ok", "error"}, and exits 1 if any fails.
"""

import json
import shlex
import sys

import botocore.session
from botocore.exceptions import ParamValidationError, UnknownServiceError
from botocore.validate import validate_parameters
from botocore import xform_name

# The CLI's own options, not operation parameters.
GLOBAL = {"--region", "--profile", "--output", "--endpoint-url", "--query"}


def value_for(shape, raw):
    if shape.type_name == "structure":
        out = {}
        for part in raw.split(","):
            k, _, v = part.partition("=")
            out[k] = v
        return out
    if shape.type_name == "list":
        return raw.split()
    if shape.type_name == "boolean":
        return raw == "true"
    if shape.type_name in ("integer", "long"):
        return int(raw)
    return raw


def check(session, line):
    argv = shlex.split(line)
    if len(argv) < 3 or argv[0] != "aws":
        return "not an aws SERVICE OPERATION command"
    service, op = argv[1], argv[2]
    try:
        model = session.get_service_model(service)
    except UnknownServiceError:
        return f"no service {service}"
    names = {xform_name(n, "-"): n for n in model.operation_names}
    if op not in names:
        return f"{service} has no operation {op}"
    shape = model.operation_model(names[op]).input_shape
    members = {xform_name(m, "-"): m for m in shape.members}
    params = {}
    args = argv[3:]
    i = 0
    while i < len(args):
        flag = args[i]
        if not flag.startswith("--") or i + 1 >= len(args):
            return f"{flag}: expected --name value"
        value = args[i + 1]
        i += 2
        if flag in GLOBAL:
            continue
        name = members.get(flag[2:])
        if name is None:
            return f"{service} {op} has no parameter {flag}"
        member = shape.members[name]
        if getattr(member, "enum", None) and value not in member.enum:
            return f"{flag} {value}: not one of {member.enum}"
        params[name] = value_for(member, value)
    try:
        validate_parameters(params, shape)
    except ParamValidationError as e:
        return str(e)
    return None


def main():
    session = botocore.session.get_session()
    failed = False
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        error = check(session, line)
        failed |= error is not None
        print(json.dumps({"command": line, "ok": error is None, "error": error}))
    sys.exit(1 if failed else 0)


main()
