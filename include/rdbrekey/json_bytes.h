// Byte strings (key names, AUX values) in JSON: JSON strings are Unicode, key names are bytes.
// Each byte becomes the code point of the same number (U+0000..U+00FF), so that a JSON writer
// escapes the non-ASCII ones as \u00XX and a reader gets every byte back exactly.
#pragma once

#include <string>
#include <string_view>

namespace rdbrekey {

// The UTF-8 text of one code point per byte.
std::string bytes_as_code_points(std::string_view bytes);

}  // namespace rdbrekey
