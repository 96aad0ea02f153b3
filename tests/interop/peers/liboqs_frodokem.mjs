// liboqs (WebAssembly, npm @oqs/liboqs-js) as the independent FrodoKEM implementation for
// tests/interop/test_frodokem_liboqs.py. Usage: node liboqs_frodokem.mjs <install prefix>
// stdin: {"<alg>": {"op": "keygen_encaps", "peer_pk": hex} | {"op": "decaps", "sk": hex, "ct": hex}}
// stdout: {"<alg>": {pk, sk, ct, ss} | {ss}} (hex). keygen_encaps makes a liboqs key pair and
// encapsulates to the peer's public key; decaps decapsulates the peer's ciphertext.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const prefix = process.argv[2];
const lib = await import(
  pathToFileURL(join(prefix, "node_modules", "@oqs", "liboqs-js", "src", "index.js")).href
);
const FACTORIES = {
  "FrodoKEM-640-AES": lib.createFrodoKEM640AES,
  "FrodoKEM-640-SHAKE": lib.createFrodoKEM640SHAKE,
  "FrodoKEM-976-AES": lib.createFrodoKEM976AES,
  "FrodoKEM-976-SHAKE": lib.createFrodoKEM976SHAKE,
  "FrodoKEM-1344-AES": lib.createFrodoKEM1344AES,
  "FrodoKEM-1344-SHAKE": lib.createFrodoKEM1344SHAKE,
};
const hex = (u8) => Buffer.from(u8).toString("hex");
const bytes = (h) => new Uint8Array(Buffer.from(h, "hex"));

const requests = JSON.parse(readFileSync(0, "utf8"));
const out = {};
for (const [alg, req] of Object.entries(requests)) {
  const kem = await FACTORIES[alg]();
  try {
    if (req.op === "keygen_encaps") {
      const { publicKey, secretKey } = kem.generateKeyPair();
      const { ciphertext, sharedSecret } = kem.encapsulate(bytes(req.peer_pk));
      out[alg] = { pk: hex(publicKey), sk: hex(secretKey), ct: hex(ciphertext), ss: hex(sharedSecret) };
    } else {
      out[alg] = { ss: hex(kem.decapsulate(bytes(req.ct), bytes(req.sk))) };
    }
  } finally {
    kem.destroy();
  }
}
process.stdout.write(JSON.stringify(out) + "\n");
