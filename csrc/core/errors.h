// Errors raised by host code. The bindings translate InvalidArgument into a
// Python ValueError and Unsupported into RuntimeError; device code never
// throws, so every check on user input happens on the host before a launch.
#pragma once

#include <stdexcept>
#include <string>
#include <sstream>

namespace pdvg {

struct InvalidArgument : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

struct Unsupported : std::runtime_error {
    using std::runtime_error::runtime_error;
};

template <typename... Parts>
std::string concat(const Parts&... parts) {
    std::ostringstream out;
    (out << ... << parts);
    return out.str();
}

template <typename... Parts>
[[noreturn]] void throw_invalid(const Parts&... parts) {
    throw InvalidArgument(concat(parts...));
}

}  // namespace pdvg
