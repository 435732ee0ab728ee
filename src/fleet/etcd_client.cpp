#include "fleet/etcd_client.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <mutex>

#include "common/text.h"

namespace streaminfer {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t on_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// The gateway writes int64 fields as strings ("123") and leaves out zeros.
int64_t number_of(const nlohmann::json& object, const char* field) {
  if (!object.contains(field)) return 0;
  const auto& v = object[field];
  if (v.is_string()) {
    try {
      return std::stoll(v.get<std::string>());
    } catch (const std::exception&) {
      return 0;
    }
  }
  return v.is_number_integer() ? v.get<int64_t>() : 0;
}

Result<nlohmann::json> parse_answer(const std::string& text, const std::string& what) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return Status::error(what + ": the answer is not JSON");
  // gRPC-gateway errors: {"error": "...", "code": N, "message": "..."}
  if (j.contains("error") || (j.contains("code") && j.contains("message"))) {
    // {"error": "...", "code": N, "message": "..."}, or a stream's {"error": {"message": ...}}.
    std::string message = "error";
    if (j.contains("message") && j["message"].is_string()) {
      message = j["message"].get<std::string>();
    } else if (j.contains("error") && j["error"].is_string()) {
      message = j["error"].get<std::string>();
    } else if (j.contains("error") && j["error"].is_object() &&
               j["error"].value("message", nlohmann::json()).is_string()) {
      message = j["error"]["message"].get<std::string>();
    }
    return Status::error(what + ": " + excerpt(message, 200));
  }
  return j;
}

Result<EtcdKeyValue> key_value_of(const nlohmann::json& kv) {
  EtcdKeyValue out;
  auto key = base64_decode(kv.value("key", ""));
  auto value = base64_decode(kv.value("value", ""));
  if (!key || !value) return Status::error("a key or value that is not base64");
  out.key = std::move(*key);
  out.value = std::move(*value);
  out.create_revision = number_of(kv, "create_revision");
  out.mod_revision = number_of(kv, "mod_revision");
  out.lease = number_of(kv, "lease");
  return out;
}

}  // namespace

std::string base64_encode(const std::string& bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(const std::string& text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t n = 0;
    int pad = 0;
    for (size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      int v = -1;
      if (c == '=' && i + 4 == text.size() && j >= 2) {
        ++pad;
        v = 0;
      } else if (pad == 0) {
        const char* at = std::char_traits<char>::find(kAlphabet, 64, c);
        v = at ? static_cast<int>(at - kAlphabet) : -1;
      }
      if (v < 0) return std::nullopt;
      n = (n << 6) | static_cast<uint32_t>(v);
    }
    out += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

std::string prefix_range_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

EtcdClient::EtcdClient(std::string endpoint, double timeout_s)
    : endpoint_(std::move(endpoint)), timeout_s_(timeout_s) {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
}

EtcdClient::~EtcdClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

Result<std::string> EtcdClient::post(const std::string& path, const std::string& body) {
  const std::string what = fmt::format("etcd {}{}", endpoint_, path);
  CURL* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) return Status::error(what + ": libcurl could not start");
  requests_.fetch_add(1, std::memory_order_relaxed);
  std::string answer;
  const std::string url = endpoint_ + path;
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_s_ * 1000));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
  const CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) return Status::error(what + ": " + curl_easy_strerror(code));
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    auto parsed = parse_answer(answer, what);
    // Not etcd's JSON at all (a proxy, another server on that port, an etcd without /v3):
    // said as such, with the status.
    if (!parsed && nlohmann::json::parse(answer, nullptr, false).is_discarded()) {
      return Status::error(fmt::format(
          "{}: HTTP {} and an answer that is not etcd's (is this an etcd v3 client URL?)", what,
          status));
    }
    if (!parsed) return parsed.status();
    return Status::error(fmt::format("{}: HTTP {}", what, status));
  }
  return answer;
}

Status EtcdClient::put(const std::string& key, const std::string& value, int64_t lease) {
  nlohmann::json request = {{"key", base64_encode(key)}, {"value", base64_encode(value)}};
  if (lease != 0) request["lease"] = std::to_string(lease);
  auto answer = post("/v3/kv/put", request.dump());
  if (!answer) return answer.status();
  return parse_answer(answer.value(), "etcd put " + key).status();
}

Result<std::optional<EtcdKeyValue>> EtcdClient::get(const std::string& key) {
  auto answer = post("/v3/kv/range", nlohmann::json{{"key", base64_encode(key)}}.dump());
  if (!answer) return answer.status();
  auto j = parse_answer(answer.value(), "etcd get " + key);
  if (!j) return j.status();
  if (!j.value().contains("kvs") || j.value()["kvs"].empty()) {
    return std::optional<EtcdKeyValue>();
  }
  auto kv = key_value_of(j.value()["kvs"][0]);
  if (!kv) return Status::error("etcd get " + key + ": " + kv.status().message());
  return std::optional<EtcdKeyValue>(std::move(kv.value()));
}

Result<std::vector<EtcdKeyValue>> EtcdClient::range(const std::string& prefix, int64_t* revision) {
  auto answer =
      post("/v3/kv/range", nlohmann::json{{"key", base64_encode(prefix)},
                                          {"range_end", base64_encode(prefix_range_end(prefix))}}
                               .dump());
  if (!answer) return answer.status();
  auto j = parse_answer(answer.value(), "etcd range " + prefix);
  if (!j) return j.status();
  if (revision != nullptr)
    *revision = number_of(j.value().value("header", nlohmann::json()), "revision");
  std::vector<EtcdKeyValue> out;
  if (!j.value().contains("kvs")) return out;
  for (const auto& item : j.value()["kvs"]) {
    auto kv = key_value_of(item);
    if (!kv) return Status::error("etcd range " + prefix + ": " + kv.status().message());
    out.push_back(std::move(kv.value()));
  }
  return out;
}

Result<int64_t> EtcdClient::revision() {
  // A key no one writes (etcd keys never hold a NUL), counted only: the answer is the header.
  const nlohmann::json request = {{"key", base64_encode(std::string(1, '\0'))},
                                  {"count_only", true}};
  auto answer = post("/v3/kv/range", request.dump());
  if (!answer) return answer.status();
  auto j = parse_answer(answer.value(), "etcd revision");
  if (!j) return j.status();
  const int64_t revision = number_of(j.value().value("header", nlohmann::json()), "revision");
  if (revision <= 0) return Status::error("etcd revision: no revision in the answer");
  return revision;
}

Result<int64_t> EtcdClient::remove(const std::string& key) {
  auto answer = post("/v3/kv/deleterange", nlohmann::json{{"key", base64_encode(key)}}.dump());
  if (!answer) return answer.status();
  auto j = parse_answer(answer.value(), "etcd delete " + key);
  if (!j) return j.status();
  return number_of(j.value(), "deleted");
}

Result<int64_t> EtcdClient::grant_lease(int64_t ttl_s) {
  auto answer = post("/v3/lease/grant", nlohmann::json{{"TTL", std::to_string(ttl_s)}}.dump());
  if (!answer) return answer.status();
  auto j = parse_answer(answer.value(), "etcd lease grant");
  if (!j) return j.status();
  const int64_t id = number_of(j.value(), "ID");
  if (id == 0) return Status::error("etcd lease grant: no lease id in the answer");
  return id;
}

Result<int64_t> EtcdClient::keep_alive(int64_t lease) {
  auto answer = post("/v3/lease/keepalive", nlohmann::json{{"ID", std::to_string(lease)}}.dump());
  if (!answer) return answer.status();
  // The gateway streams keep-alive answers: one JSON object per line, {"result": {...}}.
  const std::string first = answer.value().substr(0, answer.value().find('\n'));
  auto j = parse_answer(first, "etcd lease keepalive");
  if (!j) return j.status();
  const nlohmann::json& result = j.value().contains("result") ? j.value()["result"] : j.value();
  return std::max<int64_t>(0, number_of(result, "TTL"));
}

Status EtcdClient::revoke_lease(int64_t lease) {
  auto answer = post("/v3/lease/revoke", nlohmann::json{{"ID", std::to_string(lease)}}.dump());
  if (!answer) return answer.status();
  return parse_answer(answer.value(), "etcd lease revoke").status();
}

Result<bool> EtcdClient::put_if_free(const std::string& key, const std::string& value,
                                     int64_t lease, std::string* holder) {
  const std::string k = base64_encode(key);
  const nlohmann::json put = {
      {"request_put",
       {{"key", k}, {"value", base64_encode(value)}, {"lease", std::to_string(lease)}}}};
  // Free (never created, or deleted when its lease expired), or already ours: take it.
  const nlohmann::json free_request = {
      {"compare",
       {{{"key", k}, {"target", "CREATE"}, {"result", "EQUAL"}, {"create_revision", "0"}}}},
      {"success", {put}},
      {"failure", {{{"request_range", {{"key", k}}}}}}};
  auto answer = post("/v3/kv/txn", free_request.dump());
  if (!answer) return answer.status();
  auto j = parse_answer(answer.value(), "etcd txn " + key);
  if (!j) return j.status();
  if (j.value().value("succeeded", false)) return true;
  const nlohmann::json ours_request = {
      {"compare",
       {{{"key", k}, {"target", "LEASE"}, {"result", "EQUAL"}, {"lease", std::to_string(lease)}}}},
      {"success", {put}},
      {"failure", {{{"request_range", {{"key", k}}}}}}};
  answer = post("/v3/kv/txn", ours_request.dump());
  if (!answer) return answer.status();
  j = parse_answer(answer.value(), "etcd txn " + key);
  if (!j) return j.status();
  if (j.value().value("succeeded", false)) return true;
  if (holder != nullptr) {
    for (const auto& response : j.value().value("responses", nlohmann::json::array())) {
      if (!response.contains("response_range")) continue;
      const auto& kvs = response["response_range"].value("kvs", nlohmann::json::array());
      if (!kvs.empty()) {
        if (auto kv = key_value_of(kvs[0]); kv) *holder = kv.value().value;
      }
    }
  }
  return false;
}

Result<bool> EtcdClient::txn_succeeded(const std::string& request, const std::string& what) {
  auto answer = post("/v3/kv/txn", request);
  if (!answer) return answer.status();
  auto j = parse_answer(answer.value(), what);
  if (!j) return j.status();
  return j.value().value("succeeded", false);
}

Result<bool> EtcdClient::create(const std::string& key, const std::string& value) {
  const std::string k = base64_encode(key);
  const nlohmann::json request = {
      {"compare",
       {{{"key", k}, {"target", "CREATE"}, {"result", "EQUAL"}, {"create_revision", "0"}}}},
      {"success", {{{"request_put", {{"key", k}, {"value", base64_encode(value)}}}}}}};
  return txn_succeeded(request.dump(), "etcd create " + key);
}

Result<bool> EtcdClient::remove_if_held(const std::string& key, int64_t lease) {
  const std::string k = base64_encode(key);
  const nlohmann::json request = {
      {"compare",
       {{{"key", k}, {"target", "LEASE"}, {"result", "EQUAL"}, {"lease", std::to_string(lease)}}}},
      {"success", {{{"request_delete_range", {{"key", k}}}}}}};
  return txn_succeeded(request.dump(), "etcd delete " + key);
}

}  // namespace streaminfer
