#pragma once
// A client of etcd v3 through its documented JSON gateway (HTTP POST of JSON to /v3/...; keys
// and values base64, 64-bit numbers as strings), over libcurl: Debian 12 has etcd 3.4 and no
// maintained C++ client. What the fleet needs and no more: put (with a lease), get, a prefix
// range, delete, leases (grant, keep alive, revoke) and the one transaction that takes a key
// only when nobody holds it. Every failure is a Status with one line naming the endpoint and
// the operation; nothing throws. One client per thread (libcurl handles are not shared).
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "streaminfer/status.h"

namespace streaminfer {

struct EtcdKeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t lease = 0;  // 0: none
};

class EtcdClient {
 public:
  // `endpoint`: http://HOST:PORT. `timeout_s` bounds every request (connect included).
  explicit EtcdClient(std::string endpoint, double timeout_s = 2);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  Status put(const std::string& key, const std::string& value, int64_t lease = 0);
  Result<std::optional<EtcdKeyValue>> get(const std::string& key);
  // Every key that starts with `prefix`, in key order; the store's revision of that read in
  // *revision when not null.
  Result<std::vector<EtcdKeyValue>> range(const std::string& prefix, int64_t* revision = nullptr);
  // The store's revision (it grows with every change anywhere in etcd, a lease's expiry
  // included): a one-key read that returns no data, so a watcher learns cheaply whether to read
  // again.
  Result<int64_t> revision();
  // How many keys were deleted.
  Result<int64_t> remove(const std::string& key);
  Result<int64_t> grant_lease(int64_t ttl_s);
  // The TTL left after the renewal; 0 when etcd answered that the lease is gone (expired or
  // revoked), an error when etcd could not be asked.
  Result<int64_t> keep_alive(int64_t lease);
  Status revoke_lease(int64_t lease);
  // Puts key = value under `lease` only when the key does not exist or is already held under
  // this same lease; true when it did, false when another lease holds it (its value then in
  // *holder when not null).
  Result<bool> put_if_free(const std::string& key, const std::string& value, int64_t lease,
                           std::string* holder = nullptr);

  // Puts key = value only when the key does not exist; false when it does.
  Result<bool> create(const std::string& key, const std::string& value);
  // Deletes the key only while `lease` holds it; false when it is gone or another lease's.
  Result<bool> remove_if_held(const std::string& key, int64_t lease);

  const std::string& endpoint() const { return endpoint_; }
  // Requests sent so far (answered or not): what a worker costs etcd.
  int64_t requests() const { return requests_.load(std::memory_order_relaxed); }

 private:
  // POSTs `body` (JSON) to endpoint_ + path; the parsed answer's text.
  Result<std::string> post(const std::string& path, const std::string& body);
  // Sends a transaction (its JSON): whether its comparisons held.
  Result<bool> txn_succeeded(const std::string& request, const std::string& what);

  std::string endpoint_;
  double timeout_s_;
  void* curl_ = nullptr;  // CURL*, opaque here so that users need no curl header
  std::atomic<int64_t> requests_{0};
};

// Base64 (RFC 4648, with padding), as the gateway wants keys and values.
std::string base64_encode(const std::string& bytes);
// nullopt when `text` is not valid base64.
std::optional<std::string> base64_decode(const std::string& text);
// The key just past every key that starts with `prefix` (etcd's range_end for a prefix).
std::string prefix_range_end(const std::string& prefix);

}  // namespace streaminfer
