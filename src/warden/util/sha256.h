#pragma once

#include <array>
#include <string>
#include <string_view>

namespace warden::util {

std::array<unsigned char, 32> sha256(std::string_view data);
std::string sha256_hex(std::string_view data);
std::string to_hex(const unsigned char* data, size_t n);

}  // namespace warden::util
