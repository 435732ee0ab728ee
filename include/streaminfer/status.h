#pragma once
// Error handling in the style of Triton core: functions that can fail return a Status (or a
// Result<T>), and callers propagate with SI_RETURN_IF_ERROR. Messages are one line meant for the
// user: they name the input and say what to do.
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace streaminfer {

class Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status error(std::string message) { return Status(std::move(message)); }

  bool is_ok() const { return !message_.has_value(); }
  explicit operator bool() const { return is_ok(); }
  const std::string& message() const {
    static const std::string kEmpty;
    return message_ ? *message_ : kEmpty;
  }

 private:
  explicit Status(std::string message) : message_(std::move(message)) {}
  std::optional<std::string> message_;
};

// Holds either a value or the error that prevented producing it.
template <typename T>
class Result {
 public:
  Result(T value) : data_(std::move(value)) {}         // NOLINT: implicit on purpose
  Result(Status status) : data_(std::move(status)) {}  // NOLINT: implicit on purpose

  bool is_ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return is_ok(); }
  Status status() const { return is_ok() ? Status::ok() : std::get<Status>(data_); }
  T& value() & { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T& operator*() & { return value(); }
  T* operator->() { return &std::get<T>(data_); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace streaminfer

#define SI_RETURN_IF_ERROR(expr)                \
  do {                                          \
    ::streaminfer::Status si_status_ = (expr);  \
    if (!si_status_.is_ok()) return si_status_; \
  } while (false)
