#include "rdbrekey/verifier.h"

#include "rdbrekey/record_scanner.h"

namespace rdbrekey {

VerifyResult verify(ByteSource& src) {
  RecordScanner sc(src);
  VerifyResult v;
  v.version = sc.read_header();
  Record r;
  while (sc.next(r)) {
    switch (r.kind) {
      case RecordKind::kKey:
        ++v.keys;
        ++v.keys_per_db[sc.current_db()];
        if (r.prefix.has_expire) ++v.with_ttl;
        break;
      case RecordKind::kAux: ++v.aux; break;
      case RecordKind::kFunction: ++v.functions; break;
      case RecordKind::kModuleAux: ++v.module_aux; break;
      default: break;
    }
  }
  v.bytes = sc.summary().end_offset;
  v.checksum_present = sc.summary().checksum_present;
  v.trailing_bytes = sc.summary().trailing_bytes;
  return v;
}

}  // namespace rdbrekey
