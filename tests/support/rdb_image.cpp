#include "rdb_image.h"

#include "rdbrekey/byte_sink.h"
#include "rdbrekey/record_scanner.h"

namespace rdbrekey::test {

FileImage image_of(ByteSource& src) {
  RecordScanner sc(src);
  FileImage img;
  img.version = sc.read_header();
  Record r;
  while (sc.next(r)) {
    if (r.kind == RecordKind::kAux) img.aux.emplace_back(r.key);
    if (r.kind == RecordKind::kFunction) ++img.functions;
    if (r.kind == RecordKind::kModuleAux) ++img.module_aux;
    if (r.kind != RecordKind::kKey) continue;
    MemorySink value;
    KeyImage k{r.opcode, r.prefix.has_expire, r.prefix.expire_ms, {}};
    std::string key(r.key);
    uint64_t offset = r.key_offset;
    sc.copy_payload(value);
    value.finalize();
    k.value.assign(value.data().begin(), value.data().end());
    img.keys.push_back(SourceKey{sc.current_db(), offset, key, k});
    if (!img.dbs[sc.current_db()].emplace(key, k).second) ++img.duplicates;
  }
  return img;
}

FileImage image_of_bytes(const std::string& bytes) {
  MemorySource src("out", bytes.data(), bytes.size());
  return image_of(src);
}

}  // namespace rdbrekey::test
