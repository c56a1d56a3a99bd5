# Encodes messages with VPP's reference Python client (vpp_papi) from the same .api.json files,
# for the cross-check in papi-crosscheck.test.ts. stdin: {"apidir": str, "messages": [{"name",
# "fields"}]} with byte strings as {"$bytes": "<hex>"}; stdout: [{"hex": str} | {"error": str}].
import json
import sys

from vpp_papi.vpp_papi import VPPApiJSONFiles


def revive(v):
    if isinstance(v, dict):
        if set(v.keys()) == {"$bytes"}:
            return bytes.fromhex(v["$bytes"])
        return {k: revive(x) for k, x in v.items()}
    if isinstance(v, list):
        return [revive(x) for x in v]
    return v


def main():
    req = json.load(sys.stdin)
    _, messages, _ = VPPApiJSONFiles.load_api(apidir=req["apidir"])
    out = []
    for m in req["messages"]:
        try:
            out.append({"hex": messages[m["name"]].pack(revive(m["fields"])).hex()})
        except Exception as e:  # reported per message (with its causes), compared by the test
            chain = []
            while e is not None:
                chain.append("%s: %s" % (type(e).__name__, e))
                e = e.__cause__ or e.__context__
            out.append({"error": " <- ".join(chain)})
    json.dump(out, sys.stdout)


main()
