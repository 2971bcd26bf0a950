#include "rdbrekey/compression.h"

#include <lz4frame.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "rdbrekey/error.h"

namespace rdbrekey {

std::string_view codec_name(Codec c) {
  switch (c) {
    case Codec::kGzip: return "gzip";
    case Codec::kLz4: return "lz4";
    case Codec::kZstd: return "zstd";
    case Codec::kNone: break;
  }
  return "none";
}

std::string_view compressed_extension(Codec c) {
  switch (c) {
    case Codec::kGzip: return "gz";
    case Codec::kLz4: return "lz4";
    case Codec::kZstd: return "zst";
    case Codec::kNone: break;
  }
  return "";
}

Codec codec_of_magic(const uint8_t* p, size_t n) {
  if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) return Codec::kGzip;
  if (n >= 4 && p[0] == 0x04 && p[1] == 0x22 && p[2] == 0x4d && p[3] == 0x18) return Codec::kLz4;
  if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) return Codec::kZstd;
  return Codec::kNone;
}

Codec codec_of_path(std::string_view path) {
  auto ends = [&](std::string_view tail) {
    return path.size() > tail.size() && path.substr(path.size() - tail.size()) == tail;
  };
  if (ends(".gz")) return Codec::kGzip;
  if (ends(".lz4")) return Codec::kLz4;
  if (ends(".zst")) return Codec::kZstd;
  return Codec::kNone;
}

std::optional<Compression> parse_compression(std::string_view text, std::string& why) {
  std::string_view name = text.substr(0, text.find(':'));
  Compression c;
  int max_level = 0;
  if (name == "gzip") c.codec = Codec::kGzip, max_level = 9;
  else if (name == "lz4") c.codec = Codec::kLz4, max_level = 12;
  else if (name == "zstd") c.codec = Codec::kZstd, max_level = 19;
  else if (name == "none") c.codec = Codec::kNone;
  else {
    why = "expected gzip, lz4, zstd or none, optionally with :LEVEL";
    return std::nullopt;
  }
  if (name.size() == text.size()) return c;
  std::string_view level = text.substr(name.size() + 1);
  auto [end, ec] = std::from_chars(level.data(), level.data() + level.size(), c.level);
  if (c.codec == Codec::kNone || ec != std::errc() || end != level.data() + level.size() || c.level < 1 ||
      c.level > max_level) {
    why = c.codec == Codec::kNone ? "none takes no level" : fmt::format("{} levels are 1..{}", name, max_level);
    return std::nullopt;
  }
  return c;
}

// ---- decompression ------------------------------------------------------------------------

// One codec's streaming decoder: takes compressed bytes, gives decompressed ones.
class DecompressingSource::Decoder {
 public:
  struct Step {
    size_t consumed = 0;
    size_t produced = 0;
    std::string error;  // the library's message when the data is damaged
  };
  virtual ~Decoder() = default;
  // Decodes from in[0, in_size) into out[0, room); in_size 0 only flushes what is pending.
  virtual Step run(const uint8_t* in, size_t in_size, uint8_t* out, size_t room) = 0;
  // True between whole frames (gzip members): the input may end here.
  virtual bool at_boundary() const = 0;
};

namespace {

class GzipDecoder final : public DecompressingSource::Decoder {
 public:
  GzipDecoder() {
    if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) throw Error(Errc::kInternal, "zlib: inflateInit2 failed");
  }
  ~GzipDecoder() override { inflateEnd(&z_); }

  Step run(const uint8_t* in, size_t in_size, uint8_t* out, size_t room) override {
    Step s;
    if (member_done_ && in_size > 0) {
      // After a member: zero padding (some backup tools add it) ends the data; anything else
      // must be another gzip member (`cat a.gz b.gz` is one valid gzip file).
      if (in[0] == 0 || zeros_seen_) {
        while (s.consumed < in_size && in[s.consumed] == 0) ++s.consumed;
        zeros_seen_ = true;
        if (s.consumed < in_size) s.error = "non-zero bytes after the zero padding that ends the gzip data";
        return s;
      }
      inflateReset(&z_);
      member_done_ = false;
    }
    z_.next_in = const_cast<Bytef*>(in);
    z_.avail_in = static_cast<uInt>(std::min<size_t>(in_size, 1u << 30));
    z_.next_out = out;
    z_.avail_out = static_cast<uInt>(std::min<size_t>(room, 1u << 30));
    int r = inflate(&z_, Z_NO_FLUSH);
    s.consumed = static_cast<size_t>(z_.next_in - in);
    s.produced = static_cast<size_t>(z_.next_out - out);
    if (r == Z_STREAM_END) member_done_ = true;
    else if (member_done_ && r == Z_BUF_ERROR) return s;  // asked to flush after the end: nothing
    else if (r != Z_OK && r != Z_BUF_ERROR) s.error = z_.msg ? z_.msg : fmt::format("zlib error {}", r);
    return s;
  }
  bool at_boundary() const override { return member_done_; }

 private:
  z_stream z_{};
  bool member_done_ = false;
  bool zeros_seen_ = false;
};

class Lz4Decoder final : public DecompressingSource::Decoder {
 public:
  Lz4Decoder() {
    if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx_, LZ4F_VERSION)))
      throw Error(Errc::kInternal, "lz4: cannot create a decompression context");
  }
  ~Lz4Decoder() override { LZ4F_freeDecompressionContext(ctx_); }

  Step run(const uint8_t* in, size_t in_size, uint8_t* out, size_t room) override {
    Step s;
    size_t out_size = room, src_size = in_size;
    size_t r = LZ4F_decompress(ctx_, out, &out_size, in, &src_size, nullptr);
    s.consumed = src_size;
    s.produced = out_size;
    if (LZ4F_isError(r)) s.error = LZ4F_getErrorName(r);
    // 0: a frame ended and everything of it was given out (a call that did nothing, at the end of
    // the input, asks for the next frame's header: it changes nothing).
    else if (s.consumed || s.produced) frame_done_ = r == 0;
    return s;
  }
  bool at_boundary() const override { return frame_done_; }

 private:
  LZ4F_dctx* ctx_ = nullptr;
  bool frame_done_ = false;
};

class ZstdDecoder final : public DecompressingSource::Decoder {
 public:
  ZstdDecoder() : ctx_(ZSTD_createDCtx()) {
    if (!ctx_) throw Error(Errc::kInternal, "zstd: cannot create a decompression context");
  }
  ~ZstdDecoder() override { ZSTD_freeDCtx(ctx_); }

  Step run(const uint8_t* in, size_t in_size, uint8_t* out, size_t room) override {
    ZSTD_inBuffer src{in, in_size, 0};
    ZSTD_outBuffer dst{out, room, 0};
    size_t r = ZSTD_decompressStream(ctx_, &dst, &src);
    Step s;
    s.consumed = src.pos;
    s.produced = dst.pos;
    if (ZSTD_isError(r)) {
      s.error = ZSTD_getErrorName(r);
      if (ZSTD_getErrorCode(r) == ZSTD_error_frameParameter_windowTooLarge)
        s.error += " (written with --long beyond 128 MiB windows: decompress it with zstd -d --long=31 | rdbrekey "
                   "convert - ...)";
    } else if (s.consumed || s.produced) {
      frame_done_ = r == 0;  // 0: a frame ended and was flushed whole
    }
    return s;
  }
  bool at_boundary() const override { return frame_done_; }

 private:
  ZSTD_DCtx* ctx_;
  bool frame_done_ = false;
};

std::unique_ptr<DecompressingSource::Decoder> make_decoder(Codec codec) {
  switch (codec) {
    case Codec::kGzip: return std::make_unique<GzipDecoder>();
    case Codec::kLz4: return std::make_unique<Lz4Decoder>();
    case Codec::kZstd: return std::make_unique<ZstdDecoder>();
    case Codec::kNone: break;
  }
  throw Error(Errc::kInternal, "no decoder for uncompressed data");
}

}  // namespace

DecompressingSource::DecompressingSource(std::unique_ptr<ByteSource> inner, Codec codec)
    : StreamingSource(fmt::format("{} ({}-decompressed)", inner->name(), codec_name(codec)), kBuffer),
      inner_(std::move(inner)),
      codec_(codec),
      decoder_(make_decoder(codec)) {
  inner_->enable_checksum(false);  // the RDB's CRC is of the decompressed bytes (this source's)
}

DecompressingSource::~DecompressingSource() = default;

std::unique_ptr<ByteSource> DecompressingSource::reopen() const {
  if (!reopenable()) return nullptr;
  return std::make_unique<DecompressingSource>(MemorySource::rereading(*inner_), codec_);  // the same name
}

size_t DecompressingSource::read_some(uint8_t* dst, size_t room) {
  if (done_) return 0;
  for (;;) {
    bool more = inner_->ensure(1);
    uint64_t at = inner_->offset();
    Decoder::Step s = decoder_->run(more ? inner_->pos() : nullptr, more ? inner_->available() : 0, dst, room);
    inner_->advance(s.consumed);
    inner_->checkpoint();  // lets a mapped input drop the pages behind
    if (!s.error.empty())
      throw Error(Errc::kBadFraming,
                  fmt::format("{}: the {} data is damaged at compressed byte offset {} (decompressed byte {}): {}",
                              inner_->name(), codec_name(codec_), at + s.consumed, offset() + available() + s.produced,
                              s.error));
    if (s.produced) return s.produced;
    if (!more) {
      if (!decoder_->at_boundary())
        throw Error(Errc::kTruncated,
                    fmt::format("{}: the {} data ends early, at compressed byte offset {} (decompressed byte {}): the "
                                "file is cut",
                                inner_->name(), codec_name(codec_), at, offset() + available()));
      done_ = true;
      return 0;
    }
    if (s.consumed == 0)
      throw Error(Errc::kInternal, fmt::format("{}: the {} decoder made no progress", inner_->name(), codec_name(codec_)));
  }
}

// ---- compression --------------------------------------------------------------------------

// One codec's streaming encoder: compresses what it is given into `out` (a ByteSink).
class CompressingSink::Encoder {
 public:
  virtual ~Encoder() = default;
  virtual void write(const uint8_t* data, size_t size, ByteSink& out) = 0;
  // Ends the compressed stream (its trailer, checksums).
  virtual void finish(ByteSink& out) = 0;

 protected:
  static constexpr size_t kChunk = 1 << 20;
  std::vector<uint8_t> buf_;
};

namespace {

class GzipEncoder final : public CompressingSink::Encoder {
 public:
  explicit GzipEncoder(int level) {
    buf_.resize(kChunk);
    if (deflateInit2(&z_, level ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
      throw Error(Errc::kInternal, "zlib: deflateInit2 failed");
  }
  ~GzipEncoder() override { deflateEnd(&z_); }
  void write(const uint8_t* data, size_t size, ByteSink& out) override {
    while (size) {
      size_t step = std::min<size_t>(size, 1u << 30);
      run(data, step, Z_NO_FLUSH, out);
      data += step, size -= step;
    }
  }
  void finish(ByteSink& out) override { run(nullptr, 0, Z_FINISH, out); }

 private:
  void run(const uint8_t* data, size_t size, int flush, ByteSink& out) {
    z_.next_in = const_cast<Bytef*>(data);
    z_.avail_in = static_cast<uInt>(size);
    for (;;) {
      z_.next_out = buf_.data();
      z_.avail_out = static_cast<uInt>(buf_.size());
      int r = deflate(&z_, flush);
      if (r == Z_STREAM_ERROR) throw Error(Errc::kInternal, "zlib: deflate failed");
      out.write(buf_.data(), buf_.size() - z_.avail_out);
      if (flush == Z_FINISH ? r == Z_STREAM_END : (z_.avail_in == 0 && z_.avail_out != 0)) return;
    }
  }
  z_stream z_{};
};

class Lz4Encoder final : public CompressingSink::Encoder {
 public:
  explicit Lz4Encoder(int level) {
    prefs_.compressionLevel = level;
    prefs_.frameInfo.blockSizeID = LZ4F_max4MB;  // as the lz4 tool writes
    prefs_.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    if (LZ4F_isError(LZ4F_createCompressionContext(&ctx_, LZ4F_VERSION)))
      throw Error(Errc::kInternal, "lz4: cannot create a compression context");
    buf_.resize(std::max<size_t>(LZ4F_compressBound(kChunk, &prefs_), LZ4F_HEADER_SIZE_MAX));
  }
  ~Lz4Encoder() override { LZ4F_freeCompressionContext(ctx_); }
  void write(const uint8_t* data, size_t size, ByteSink& out) override {
    if (!begun_) {
      out.write(buf_.data(), check(LZ4F_compressBegin(ctx_, buf_.data(), buf_.size(), &prefs_)));
      begun_ = true;
    }
    while (size) {
      size_t step = std::min(size, kChunk);
      out.write(buf_.data(), check(LZ4F_compressUpdate(ctx_, buf_.data(), buf_.size(), data, step, nullptr)));
      data += step, size -= step;
    }
  }
  void finish(ByteSink& out) override {
    if (!begun_) write(nullptr, 0, out);
    out.write(buf_.data(), check(LZ4F_compressEnd(ctx_, buf_.data(), buf_.size(), nullptr)));
  }

 private:
  static size_t check(size_t r) {
    if (LZ4F_isError(r)) throw Error(Errc::kInternal, fmt::format("lz4: {}", LZ4F_getErrorName(r)));
    return r;
  }
  LZ4F_cctx* ctx_ = nullptr;
  LZ4F_preferences_t prefs_{};
  bool begun_ = false;
};

class ZstdEncoder final : public CompressingSink::Encoder {
 public:
  ZstdEncoder(int level, unsigned workers) : ctx_(ZSTD_createCCtx()) {
    if (!ctx_) throw Error(Errc::kInternal, "zstd: cannot create a compression context");
    buf_.resize(ZSTD_CStreamOutSize());
    ZSTD_CCtx_setParameter(ctx_, ZSTD_c_compressionLevel, level ? level : ZSTD_CLEVEL_DEFAULT);
    ZSTD_CCtx_setParameter(ctx_, ZSTD_c_checksumFlag, 1);
    // The library's own worker threads (ignored by a build without them).
    if (workers > 1) ZSTD_CCtx_setParameter(ctx_, ZSTD_c_nbWorkers, static_cast<int>(std::min(workers, 16u)));
  }
  ~ZstdEncoder() override { ZSTD_freeCCtx(ctx_); }
  void write(const uint8_t* data, size_t size, ByteSink& out) override { run(data, size, ZSTD_e_continue, out); }
  void finish(ByteSink& out) override { run(nullptr, 0, ZSTD_e_end, out); }

 private:
  void run(const uint8_t* data, size_t size, ZSTD_EndDirective mode, ByteSink& out) {
    ZSTD_inBuffer in{data, size, 0};
    for (;;) {
      ZSTD_outBuffer dst{buf_.data(), buf_.size(), 0};
      size_t r = ZSTD_compressStream2(ctx_, &dst, &in, mode);
      if (ZSTD_isError(r)) throw Error(Errc::kInternal, fmt::format("zstd: {}", ZSTD_getErrorName(r)));
      out.write(buf_.data(), dst.pos);
      if (mode == ZSTD_e_end ? r == 0 : in.pos == in.size) return;
    }
  }
  ZSTD_CCtx* ctx_;
};

std::unique_ptr<CompressingSink::Encoder> make_encoder(Compression how, unsigned workers) {
  switch (how.codec) {
    case Codec::kGzip: return std::make_unique<GzipEncoder>(how.level);
    case Codec::kLz4: return std::make_unique<Lz4Encoder>(how.level);
    case Codec::kZstd: return std::make_unique<ZstdEncoder>(how.level, workers);
    case Codec::kNone: break;
  }
  throw Error(Errc::kInternal, "no encoder for uncompressed output");
}

}  // namespace

CompressingSink::CompressingSink(std::unique_ptr<ByteSink> inner, Compression how,
                                 std::shared_ptr<BackgroundWriter> writer, unsigned workers, bool background)
    : ByteSink(1 << 20), inner_(std::move(inner)), encoder_(make_encoder(how, workers)), codec_(how.codec) {
  // Compression runs on a background thread while the conversion goes on (zstd may add its
  // workers); `inner` writes on its own.
  if (background) start_background(std::move(writer));
}

CompressingSink::~CompressingSink() { stop_background(); }

void CompressingSink::write_out(const uint8_t* data, size_t size) { encoder_->write(data, size, *inner_); }

void CompressingSink::prepare() {
  ByteSink::prepare();  // every byte is through the encoder
  if (!finished_) {
    encoder_->finish(*inner_);
    finished_ = true;
  }
  inner_->prepare();
}

void CompressingSink::cancel() noexcept {
  stop_background();
  inner_->cancel();
}

}  // namespace rdbrekey
