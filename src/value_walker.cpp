#include "rdbrekey/value_walker.h"

#include <fmt/format.h>

#include "rdbrekey/format.h"

namespace rdbrekey {

void ValueWalker::walk_string_list(const char* what) {
  uint64_t n = in_.read_len("element count");
  for (uint64_t i = 0; i < n; ++i) in_.skip_string(what);
}

void ValueWalker::walk_module_stream(const char* what) {
  for (;;) {
    uint64_t op = in_.read_len(what);
    switch (op) {
      case rdb::kModuleOpEof:
        return;
      case rdb::kModuleOpSint:
      case rdb::kModuleOpUint:
        in_.read_len("module integer");
        break;
      case rdb::kModuleOpFloat:
        in_.skip_bytes(4, "module float");
        break;
      case rdb::kModuleOpDouble:
        in_.skip_bytes(8, "module double");
        break;
      case rdb::kModuleOpString:
        in_.skip_string("module string");
        break;
      default:
        in_.fail(Errc::kBadFraming,
                 fmt::format("unknown module value opcode {} in {} (expected 0..5)", op, what));
    }
  }
}

void ValueWalker::walk_module_aux() {
  in_.read_len("module id");
  uint64_t when_op = in_.read_len("module aux when-opcode");
  if (when_op != rdb::kModuleOpUint)
    in_.fail(Errc::kBadFraming, fmt::format("module aux when-opcode is {}, expected 2", when_op));
  in_.read_len("module aux when");
  walk_module_stream("module aux data");
}

// Streams (§5.2 of the format notes):
//   L n_nodes, n_nodes x (S node_key (16 bytes), S listpack)
//   L length, L last_id.ms, L last_id.seq
//   [v>=2] L first_id.ms, L first_id.seq, L max_deleted.ms, L max_deleted.seq, L entries_added
//   L n_groups, n_groups x (
//       S name, L last_delivered.ms, L last_delivered.seq, [v>=2] L entries_read,
//       L pel_count, pel_count x (ID16, D8 delivery_time, L delivery_count),
//       L n_consumers, n_consumers x (S name, D8 seen_time, [v>=3] D8 active_time,
//                                     L cpel_count, cpel_count x ID16),
//       [v>=5] L nack_count, nack_count x ID16)
//   [v>=4] L idmp_duration, L idmp_max_entries, L n_producers,
//          n_producers x (S pid, L count, count x (S iid, L id.ms, L id.seq)),
//          L iids_added, L iids_duplicates
void ValueWalker::walk_stream(int v) {
  uint64_t nodes = in_.read_len("stream node count");
  for (uint64_t i = 0; i < nodes; ++i) {
    uint64_t len;
    uint8_t enc;
    if (in_.read_len_or_encoding(len, enc, "stream node key") || len != rdb::kStreamIdSize)
      in_.fail(Errc::kBadFraming, "stream node key is not a 16-byte stream ID");
    in_.skip_bytes(len, "stream node key");
    in_.skip_string("stream node listpack");
  }
  in_.read_len("stream length");
  in_.read_len("stream last id");
  in_.read_len("stream last id");
  if (v >= 2) {
    for (int i = 0; i < 4; ++i) in_.read_len("stream first/max-deleted id");
    in_.read_len("stream entries-added");
  }
  uint64_t groups = in_.read_len("stream consumer group count");
  for (uint64_t g = 0; g < groups; ++g) {
    in_.skip_string("consumer group name");
    in_.read_len("group last-delivered id");
    in_.read_len("group last-delivered id");
    if (v >= 2) in_.read_len("group entries-read");
    uint64_t pel = in_.read_len("group PEL size");
    for (uint64_t p = 0; p < pel; ++p) {
      skip_stream_id16("PEL entry id");
      in_.skip_bytes(8, "PEL delivery time");
      in_.read_len("PEL delivery count");
    }
    uint64_t consumers = in_.read_len("consumer count");
    for (uint64_t c = 0; c < consumers; ++c) {
      in_.skip_string("consumer name");
      in_.skip_bytes(8, "consumer seen-time");
      if (v >= 3) in_.skip_bytes(8, "consumer active-time");
      uint64_t cpel = in_.read_len("consumer PEL size");
      for (uint64_t p = 0; p < cpel; ++p) skip_stream_id16("consumer PEL entry id");
    }
    if (v >= 5) {
      uint64_t nacks = in_.read_len("group NACK count");
      for (uint64_t p = 0; p < nacks; ++p) skip_stream_id16("NACK entry id");
    }
  }
  if (v >= 4) {
    in_.read_len("stream IDMP duration");
    in_.read_len("stream IDMP max entries");
    uint64_t producers = in_.read_len("stream IDMP producer count");
    for (uint64_t p = 0; p < producers; ++p) {
      in_.skip_string("IDMP producer id");
      uint64_t count = in_.read_len("IDMP entry count");
      for (uint64_t i = 0; i < count; ++i) {
        in_.skip_string("IDMP idempotency id");
        in_.read_len("IDMP stream id");
        in_.read_len("IDMP stream id");
      }
    }
    in_.read_len("stream IDMP iids-added");
    in_.read_len("stream IDMP iids-duplicates");
  }
}

void ValueWalker::walk_value(uint8_t type) {
  using namespace rdb;
  switch (type) {
    case kTypeString:
    case kTypeHashZipmap:
    case kTypeListZiplist:
    case kTypeSetIntset:
    case kTypeZsetZiplist:
    case kTypeHashZiplist:
    case kTypeHashListpack:
    case kTypeZsetListpack:
    case kTypeSetListpack:
      in_.skip_string("value");
      return;
    case kTypeList:
    case kTypeSet:
    case kTypeListQuicklist:
      walk_string_list("element");
      return;
    case kTypeZset: {
      uint64_t n = in_.read_len("zset size");
      for (uint64_t i = 0; i < n; ++i) {
        in_.skip_string("zset member");
        uint8_t len = in_.read_u8("zset score");
        if (len < kDoubleNan) in_.skip_bytes(len, "zset score");
      }
      return;
    }
    case kTypeHash: {
      uint64_t n = in_.read_len("hash size");
      for (uint64_t i = 0; i < n; ++i) {
        in_.skip_string("hash field");
        in_.skip_string("hash value");
      }
      return;
    }
    case kTypeZset2: {
      uint64_t n = in_.read_len("zset size");
      for (uint64_t i = 0; i < n; ++i) {
        in_.skip_string("zset member");
        in_.skip_bytes(8, "zset score");
      }
      return;
    }
    case kTypeModule2:
      in_.read_len("module id");
      walk_module_stream("module value");
      return;
    case kTypeListQuicklist2: {
      uint64_t n = in_.read_len("quicklist node count");
      for (uint64_t i = 0; i < n; ++i) {
        uint64_t container = in_.read_len("quicklist node container");
        if (container != kQuicklistNodePlain && container != kQuicklistNodePacked)
          in_.fail(Errc::kBadFraming, fmt::format("quicklist node container is {}, expected 1 or 2", container));
        in_.skip_string("quicklist node");
      }
      return;
    }
    case kTypeStreamListpacks: walk_stream(1); return;
    case kTypeStreamListpacks2: walk_stream(2); return;
    case kTypeStreamListpacks3: walk_stream(3); return;
    default:
      break;
  }
  // Types 22..28: the meaning depends on the magic.
  if (in_.version().is_valkey()) {
    if (type == kTypeValkeyHash2) {
      uint64_t n = in_.read_len("hash size");
      for (uint64_t i = 0; i < n; ++i) {
        in_.skip_string("hash field");
        in_.skip_string("hash value");
        in_.skip_bytes(8, "hash field expire time");
      }
      return;
    }
  } else {
    switch (type) {
      case kTypeHashMetadataPreGa:
      case kTypeHashMetadata: {
        if (type == kTypeHashMetadata) in_.skip_bytes(8, "hash minimum expire time");
        uint64_t n = in_.read_len("hash size");
        for (uint64_t i = 0; i < n; ++i) {
          in_.read_len("hash field ttl");
          in_.skip_string("hash field");
          in_.skip_string("hash value");
        }
        return;
      }
      case kTypeHashListpackExPreGa:
        in_.skip_string("value");
        return;
      case kTypeHashListpackEx:
        in_.skip_bytes(8, "hash minimum expire time");
        in_.skip_string("value");
        return;
      case kTypeStreamListpacks4: walk_stream(4); return;
      case kTypeStreamListpacks5: walk_stream(5); return;
      case kTypeArray: {
        uint64_t n = in_.read_len("array element count");
        if (n == 0) in_.fail(Errc::kBadFraming, "array with no elements");
        uint64_t flag = in_.read_len("array insert-index flag");
        if (flag > 1) in_.fail(Errc::kBadFraming, fmt::format("array insert-index flag is {}, expected 0 or 1", flag));
        if (flag == 1) in_.read_len("array insert index");
        for (uint64_t i = 0; i < n; ++i) {
          in_.read_len("array index");
          uint64_t tag = in_.read_len("array element tag");
          switch (tag) {
            case kArrayTagSds:
            case kArrayTagSmallStr: in_.skip_string("array element"); break;
            case kArrayTagInt:
            case kArrayTagFloat: in_.skip_bytes(8, "array element"); break;
            default:
              in_.fail(Errc::kBadFraming, fmt::format("array element tag is {}, expected 0..3", tag));
          }
        }
        return;
      }
      default:
        break;
    }
  }
  in_.fail(Errc::kUnknownType, fmt::format("value type {} cannot be walked", type));
}

}  // namespace rdbrekey
