// The --sink URI: defaults, every accepted part, and one-line errors that name the URI; and the
// run options that carry it (flag validation, YAML `sink`).
#include "sink/mqtt_uri.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/run_options.h"

namespace streaminfer {
namespace {

TEST(MqttUri, DefaultsPortQosQueueAndClientId) {
  auto uri = parse_mqtt_uri("mqtt://127.0.0.1/si/detections");
  ASSERT_TRUE(uri) << uri.status().message();
  EXPECT_EQ(uri->host, "127.0.0.1");
  EXPECT_EQ(uri->port, 1883);
  EXPECT_EQ(uri->topic, "si/detections");
  EXPECT_EQ(uri->qos, 0);
  EXPECT_EQ(uri->queue, 1000u);
  EXPECT_EQ(uri->client_id, "");
  EXPECT_EQ(uri->uri, "mqtt://127.0.0.1/si/detections");
}

TEST(MqttUri, PortQueryAndIpv6) {
  auto uri = parse_mqtt_uri("mqtt://broker.local:1884/a/b?qos=1&client_id=cam-1&queue=50");
  ASSERT_TRUE(uri) << uri.status().message();
  EXPECT_EQ(uri->host, "broker.local");
  EXPECT_EQ(uri->port, 1884);
  EXPECT_EQ(uri->topic, "a/b");
  EXPECT_EQ(uri->qos, 1);
  EXPECT_EQ(uri->client_id, "cam-1");
  EXPECT_EQ(uri->queue, 50u);

  auto v6 = parse_mqtt_uri("mqtt://[::1]:2883/t");
  ASSERT_TRUE(v6) << v6.status().message();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 2883);
  EXPECT_EQ(v6->topic, "t");
}

TEST(MqttUri, ErrorsAreOneLineNamingTheUri) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"http://127.0.0.1/t", "mqtt://"},
      {"mqtt://127.0.0.1", "no topic"},
      {"mqtt://127.0.0.1/", "empty topic"},
      {"mqtt://:1883/t", "no broker host"},
      {"mqtt://127.0.0.1:/t", "empty port"},
      {"mqtt://127.0.0.1:0/t", "port '0'"},
      {"mqtt://127.0.0.1:70000/t", "port '70000'"},
      {"mqtt://127.0.0.1:12ab/t", "port '12ab'"},
      {"mqtt://[::1/t", "']'"},
      {"mqtt://user:secret@127.0.0.1/t", "passwords"},
      {"mqtt://127.0.0.1/cams/#", "wildcard"},
      {"mqtt://127.0.0.1/cams/+/det", "wildcard"},
      {"mqtt://127.0.0.1/t?qos=2", "qos"},
      {"mqtt://127.0.0.1/t?queue=0", "queue"},
      {"mqtt://127.0.0.1/t?retain=1", "retain"},
      {"mqtt://127.0.0.1/t?client_id=", "client_id"},
  };
  for (const auto& [text, expected] : cases) {
    auto uri = parse_mqtt_uri(text);
    ASSERT_FALSE(uri) << text << " was accepted";
    const std::string message = uri.status().message();
    EXPECT_NE(message.find(text), std::string::npos) << text << ": " << message;
    EXPECT_NE(message.find(expected), std::string::npos) << text << ": " << message;
    EXPECT_NE(message.find("--sink"), std::string::npos) << text << ": " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << text << ": " << message;
  }
}

TEST(MqttUri, RunOptionsValidateEverySink) {
  RunOptions options;
  options.sinks = {"mqtt://127.0.0.1:1883/ok", "mqtt://127.0.0.1/bad/#"};
  Status status = validate(options);
  ASSERT_FALSE(status);
  EXPECT_NE(status.message().find("mqtt://127.0.0.1/bad/#"), std::string::npos) << status.message();
  options.sinks.pop_back();
  EXPECT_TRUE(validate(options)) << validate(options).message();
}

TEST(MqttUri, YamlSinkIsAStringOrAList) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("streaminfer_mqtt_uri_test_" + std::to_string(getpid()) + ".yaml");
  std::ofstream(path) << "sink: mqtt://127.0.0.1/one\n";
  RunOptions one;
  ASSERT_TRUE(load_run_options_yaml(path.string(), one));
  EXPECT_EQ(one.sinks, (std::vector<std::string>{"mqtt://127.0.0.1/one"}));

  std::ofstream(path) << "sink: [mqtt://127.0.0.1/a, \"mqtt://127.0.0.1:1884/b?qos=1\"]\n";
  RunOptions two;
  ASSERT_TRUE(load_run_options_yaml(path.string(), two));
  EXPECT_EQ(two.sinks,
            (std::vector<std::string>{"mqtt://127.0.0.1/a", "mqtt://127.0.0.1:1884/b?qos=1"}));
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace streaminfer
