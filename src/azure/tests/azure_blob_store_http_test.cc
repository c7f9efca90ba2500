// Proves AzureBlobStore's HTTP behaviour against a scripted server (cpp-httplib on a loopback
// port) that answers each request as the test says and records it:
//   - retries: 503 / 429 / 408 / 500 are retried with exponential backoff through the injected
//     sleeper (no real sleeping), capped at backoff_max, up to attempts_max, then kUnavailable
//     naming the status and x-ms-error-code; a refused connection is retried the same way; a
//     timeout is kDeadlineExceeded; 400 and 403 are not retried;
//   - status mapping: 403 -> kFailedPrecondition "check the account key / SAS" without the
//     key; 404 on get -> kNotFound; 404 on remove -> ok; 409/412 on put_if_absent -> false;
//     ContainerNotFound on a read -> an empty container (kNotFound, empty list, remove ok),
//     on a put -> the container is created again and the put repeated;
//   - requests: Put Blob headers, Shared Key signature over the injected clock's date (checked
//     against an independent OpenSSL HMAC of the spec's string-to-sign), path and query
//     percent-encoding, list marker continuation and start_after skipping, SAS appended
//     to every URL and never shown in an error;
//   - bad keys are refused before any request.
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "azure/azure_auth.h"
#include "azure/azure_blob_store.h"

namespace hadr::azure {
namespace {

constexpr std::string_view kDevKey =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

struct RecordedRequest {
  std::string method;
  std::string target;  // raw, still percent-encoded
  httplib::Headers headers;
  httplib::Params params;  // decoded
  std::string body;

  std::string header(const std::string& name) const {
    const auto found = headers.find(name);
    return found == headers.end() ? std::string() : found->second;
  }
  std::string param(const std::string& name) const {
    const auto found = params.find(name);
    return found == params.end() ? std::string() : found->second;
  }
};

// A cpp-httplib server on a free loopback port; `respond` gets the 1-based request number.
class ScriptedServer {
 public:
  using Responder = std::function<void(int request_number, const httplib::Request&, httplib::Response&)>;

  explicit ScriptedServer(Responder respond) : respond_(std::move(respond)) {
    const auto handler = [this](const httplib::Request& request, httplib::Response& response) {
      int number = 0;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back({request.method, request.target, request.headers, request.params, request.body});
        number = static_cast<int>(requests_.size());
      }
      respond_(number, request, response);
    };
    server_.Get(".*", handler);
    server_.Put(".*", handler);
    server_.Delete(".*", handler);
    // Headers and body go out in separate writes: without this, Nagle and delayed ACKs make
    // every kept-alive request wait ~40 ms.
    server_.set_tcp_nodelay(true);
    port_ = server_.bind_to_any_port("127.0.0.1");
    HADR_ASSERT(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // The server's own thread must start listening: poll with a deadline.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!server_.is_running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    HADR_ASSERT(server_.is_running());
  }
  ~ScriptedServer() { stop(); }

  void stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return port_; }
  std::vector<RecordedRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  Responder respond_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mutex_;
  std::vector<RecordedRequest> requests_;
};

void answer(httplib::Response& response, int status, std::string_view error_code = "", std::string body = "") {
  response.status = status;
  if (!error_code.empty()) response.set_header("x-ms-error-code", std::string(error_code));
  response.set_content(std::move(body), "application/xml");
}

class AzureBlobStoreHttpTest : public ::testing::Test {
 protected:
  AzureBlobOptions options_for(const ScriptedServer& server) const {
    AzureBlobOptions options;
    options.endpoint = "http://127.0.0.1:" + std::to_string(server.port()) + "/devstoreaccount1";
    options.account = "devstoreaccount1";
    options.container = "backups";
    options.key = Secret(std::string(kDevKey));
    options.connect_timeout = Milliseconds(1'000);
    options.request_timeout = Milliseconds(10'000);
    return options;  // attempts_max 4, backoff 100 ms doubling to 2 s: the defaults
  }

  std::unique_ptr<AzureBlobStore> make_store(AzureBlobOptions options) {
    auto store = AzureBlobStore::create(std::move(options), [this](Milliseconds wait) { sleeps_.push_back(wait); }, clock_);
    HADR_ASSERT_MSG(store.ok(), "%s", store.error().to_string().c_str());
    return std::move(store).value();
  }

  using Waits = std::vector<Milliseconds>;
  ManualClock clock_;
  Waits sleeps_;
};

TEST_F(AzureBlobStoreHttpTest, PutRetriesOn503ThenSucceeds) {
  ScriptedServer server([](int number, const httplib::Request&, httplib::Response& response) {
    number <= 2 ? answer(response, 503, "ServerBusy") : answer(response, 201);
  });
  auto store = make_store(options_for(server));
  EXPECT_TRUE(store->put("wal/a/1", "data").ok());
  EXPECT_EQ(server.requests().size(), 3u);
  EXPECT_EQ(sleeps_, (Waits{Milliseconds(100), Milliseconds(200)}));
}

TEST_F(AzureBlobStoreHttpTest, PutGivesUpAfterAttemptsMaxNamingStatusAndErrorCode) {
  ScriptedServer server([](int, const httplib::Request&, httplib::Response& response) {
    answer(response, 503, "ServerBusy");
  });
  auto store = make_store(options_for(server));
  const Status status = store->put("wal/a/1", "data");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), ErrorCode::kUnavailable);
  EXPECT_NE(status.error().detail.find("HTTP 503 ServerBusy"), std::string::npos) << status.error().detail;
  EXPECT_NE(status.error().detail.find("after 4 attempts"), std::string::npos) << status.error().detail;
  EXPECT_EQ(server.requests().size(), 4u);
  EXPECT_EQ(sleeps_, (Waits{Milliseconds(100), Milliseconds(200), Milliseconds(400)}));
}

TEST_F(AzureBlobStoreHttpTest, BackoffIsCappedAtBackoffMax) {
  ScriptedServer server([](int, const httplib::Request&, httplib::Response& response) { answer(response, 500); });
  AzureBlobOptions options = options_for(server);
  options.attempts_max = 6;
  options.backoff_max = Milliseconds(300);
  auto store = make_store(options);
  EXPECT_EQ(store->get("k").code(), ErrorCode::kUnavailable);
  EXPECT_EQ(sleeps_, (Waits{Milliseconds(100), Milliseconds(200), Milliseconds(300), Milliseconds(300),
                            Milliseconds(300)}));
}

TEST_F(AzureBlobStoreHttpTest, Retries429And408And500) {
  ScriptedServer server([](int number, const httplib::Request&, httplib::Response& response) {
    constexpr int kStatuses[] = {429, 408, 500, 200};
    answer(response, kStatuses[std::min(number, 4) - 1], "", number == 4 ? "payload" : "");
  });
  auto store = make_store(options_for(server));
  auto data = store->get("k");
  ASSERT_TRUE(data.ok()) << data.error().to_string();
  EXPECT_EQ(*data, "payload");
  EXPECT_EQ(server.requests().size(), 4u);
}

TEST_F(AzureBlobStoreHttpTest, ClientErrorIsNotRetried) {
  ScriptedServer server([](int, const httplib::Request&, httplib::Response& response) {
    answer(response, 400, "InvalidHeaderValue");
  });
  auto store = make_store(options_for(server));
  const Status status = store->put("k", "x");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), ErrorCode::kInternal);
  EXPECT_NE(status.error().detail.find("HTTP 400 InvalidHeaderValue"), std::string::npos) << status.error().detail;
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(AzureBlobStoreHttpTest, ForbiddenSaysCheckKeyOrSasWithoutTheKey) {
  ScriptedServer server([](int, const httplib::Request&, httplib::Response& response) {
    answer(response, 403, "AuthenticationFailed");
  });
  auto store = make_store(options_for(server));
  const Status status = store->put("k", "x");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(status.error().detail.find("check the account key / SAS"), std::string::npos) << status.error().detail;
  EXPECT_NE(status.error().detail.find("HTTP 403 AuthenticationFailed"), std::string::npos);
  EXPECT_EQ(status.error().detail.find(kDevKey), std::string::npos) << status.error().detail;
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(AzureBlobStoreHttpTest, ConnectionRefusedIsUnavailableAfterRetries) {
  auto server = std::make_unique<ScriptedServer>([](int, const httplib::Request&, httplib::Response&) {});
  const AzureBlobOptions options = options_for(*server);
  server.reset();  // nobody listens on that port any more
  auto store = make_store(options);
  auto data = store->get("k");
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.code(), ErrorCode::kUnavailable) << data.error().to_string();
  EXPECT_NE(data.error().detail.find("after 4 attempts"), std::string::npos) << data.error().detail;
  EXPECT_EQ(sleeps_.size(), 3u);
}

TEST_F(AzureBlobStoreHttpTest, TimeoutIsDeadlineExceededAfterRetries) {
  std::mutex mutex;
  std::condition_variable released_changed;
  bool released = false;
  ScriptedServer server([&](int, const httplib::Request&, httplib::Response& response) {
    // Holds the answer past the client's timeout; bounded so a broken test cannot hang.
    std::unique_lock lock(mutex);
    released_changed.wait_for(lock, std::chrono::seconds(10), [&] { return released; });
    answer(response, 201);
  });
  AzureBlobOptions options = options_for(server);
  options.request_timeout = Milliseconds(200);
  options.attempts_max = 2;
  auto store = make_store(options);
  const Status status = store->put("k", "x");
  {
    std::lock_guard lock(mutex);
    released = true;
  }
  released_changed.notify_all();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), ErrorCode::kDeadlineExceeded) << status.error().to_string();
  EXPECT_NE(status.error().detail.find("may have been applied"), std::string::npos) << status.error().detail;
  EXPECT_EQ(sleeps_.size(), 1u);
}

TEST_F(AzureBlobStoreHttpTest, PutSendsBlockBlobWithBodyAndContentType) {
  ScriptedServer server([](int, const httplib::Request&, httplib::Response& response) { answer(response, 201); });
  auto store = make_store(options_for(server));
  ASSERT_TRUE(store->put("wal/a/1", std::string("bytes\0\xff", 7)).ok());
  const RecordedRequest request = server.requests().at(0);
  EXPECT_EQ(request.method, "PUT");
  EXPECT_EQ(request.target, "/devstoreaccount1/backups/wal/a/1");
  EXPECT_EQ(request.body, std::string("bytes\0\xff", 7));
  EXPECT_EQ(request.header("x-ms-blob-type"), "BlockBlob");
  EXPECT_EQ(request.header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(request.header("Content-Length"), "7");
  EXPECT_EQ(request.header("x-ms-version"), "2021-08-06");
  EXPECT_EQ(request.header("If-None-Match"), "");
}

TEST_F(AzureBlobStoreHttpTest, PutIfAbsentSendsIfNoneMatchAndMaps409ToFalse) {
  ScriptedServer server([](int, const httplib::Request&, httplib::Response& response) {
    answer(response, 409, "BlobAlreadyExists");
  });
  auto store = make_store(options_for(server));
  auto written = store->put_if_absent("wal/a/1", "x");
  ASSERT_TRUE(written.ok()) << written.error().to_string();
  EXPECT_FALSE(*written);
  EXPECT_EQ(server.requests().at(0).header("If-None-Match"), "*");
}

TEST_F(AzureBlobStoreHttpTest, PutIfAbsentMaps412ToFalse) {
  ScriptedServer server([](int, const httplib::Request&, httplib::Response& response) {
    answer(response, 412, "ConditionNotMet");
  });
  auto store = make_store(options_for(server));
  auto written = store->put_if_absent("wal/a/1", "x");
  ASSERT_TRUE(written.ok());
  EXPECT_FALSE(*written);
}

TEST_F(AzureBlobStoreHttpTest, PutIfAbsentMaps201ToTrue) {
  ScriptedServer server([](int, const httplib::Request&, httplib::Response& response) { answer(response, 201); });
  auto store = make_store(options_for(server));
  auto written = store->put_if_absent("wal/a/1", "x");
  ASSERT_TRUE(written.ok());
  EXPECT_TRUE(*written);
}

TEST_F(AzureBlobStoreHttpTest, GetOfMissingBlobIsNotFound) {
  ScriptedServer server([](int, const httplib::Request&, httplib::Response& response) {
    answer(response, 404, "BlobNotFound");
  });
  auto store = make_store(options_for(server));
  EXPECT_EQ(store->get("missing").code(), ErrorCode::kNotFound);
}

// Issue 12 hole 13: a container that vanished under a running store reads as an empty one:
// get is kNotFound, list is empty, remove is ok (before: kFailedPrecondition on every read, so a
// replayer and the relay's retention failed until a restart instead of seeing the gap). The
// next put creates the container again (below).
TEST_F(AzureBlobStoreHttpTest, VanishedContainerReadsAsEmpty) {
  ScriptedServer server([](int, const httplib::Request&, httplib::Response& response) {
    answer(response, 404, "ContainerNotFound");
  });
  auto store = make_store(options_for(server));
  auto data = store->get("k");
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.code(), ErrorCode::kNotFound);
  EXPECT_NE(data.error().detail.find("container is gone"), std::string::npos) << data.error().detail;
  auto page = store->list("wal/", "", 10);
  ASSERT_TRUE(page.ok()) << page.error().detail;
  EXPECT_TRUE(page->keys.empty());
  EXPECT_FALSE(page->more);
  EXPECT_TRUE(store->remove("k").ok());
}

TEST_F(AzureBlobStoreHttpTest, RemoveOfMissingBlobIsOk) {
  ScriptedServer server([](int, const httplib::Request&, httplib::Response& response) {
    answer(response, 404, "BlobNotFound");
  });
  auto store = make_store(options_for(server));
  EXPECT_TRUE(store->remove("missing").ok());
  EXPECT_EQ(server.requests().at(0).method, "DELETE");
}

TEST_F(AzureBlobStoreHttpTest, EnsureContainerCreatesAMissingContainer) {
  ScriptedServer server([](int number, const httplib::Request&, httplib::Response& response) {
    number == 1 ? answer(response, 404, "ContainerNotFound") : answer(response, 201);
  });
  auto store = make_store(options_for(server));
  EXPECT_TRUE(store->ensure_container().ok());
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[1].method, "PUT");
  EXPECT_EQ(requests[1].target, "/devstoreaccount1/backups?restype=container");
}

// Issue 12 hole 13: a container that vanished under a running writer (Azurite restarted empty)
// is created again and the write goes through; before, every put failed until a restart.
TEST_F(AzureBlobStoreHttpTest, PutRecreatesAVanishedContainerAndWritesAgain) {
  ScriptedServer server([](int number, const httplib::Request&, httplib::Response& response) {
    if (number == 1 || number == 2) return answer(response, 404, "ContainerNotFound");  // put, then properties
    answer(response, 201);                                                            // create, then put
  });
  auto store = make_store(options_for(server));
  EXPECT_TRUE(store->put("wal/a/1", "bytes").ok());
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[2].target, "/devstoreaccount1/backups?restype=container");
  EXPECT_EQ(requests[3].method, "PUT");
  EXPECT_EQ(store->containers_recreated(), 1u);
}

TEST_F(AzureBlobStoreHttpTest, EnsureContainerAcceptsAConcurrentCreator) {
  ScriptedServer server([](int number, const httplib::Request&, httplib::Response& response) {
    number == 1 ? answer(response, 404, "ContainerNotFound") : answer(response, 409, "ContainerAlreadyExists");
  });
  auto store = make_store(options_for(server));
  EXPECT_TRUE(store->ensure_container().ok());
}

TEST_F(AzureBlobStoreHttpTest, BadKeyIsRefusedBeforeAnyRequest) {
  ScriptedServer server([](int, const httplib::Request&, httplib::Response& response) { answer(response, 201); });
  auto store = make_store(options_for(server));
  EXPECT_EQ(store->put("wal a", "x").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->get("/abs").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->list("wal?", "", 10).code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(server.requests().empty());
}

// The spec's string-to-sign, written out here, signed with OpenSSL directly.
std::string independent_authorization(const std::string& string_to_sign) {
  unsigned char key[66];
  EVP_DecodeBlock(key, reinterpret_cast<const unsigned char*>(kDevKey.data()), static_cast<int>(kDevKey.size()));
  unsigned char digest[32];
  unsigned int digest_length = 0;
  HMAC(EVP_sha256(), key, 64, reinterpret_cast<const unsigned char*>(string_to_sign.data()), string_to_sign.size(),
       digest, &digest_length);
  unsigned char encoded[64];
  const int length = EVP_EncodeBlock(encoded, digest, static_cast<int>(digest_length));
  return "SharedKey devstoreaccount1:" + std::string(reinterpret_cast<const char*>(encoded), length);
}

TEST_F(AzureBlobStoreHttpTest, PutIsSignedWithSharedKeyOverTheClocksDate) {
  ScriptedServer server([](int, const httplib::Request&, httplib::Response& response) { answer(response, 201); });
  auto store = make_store(options_for(server));
  ASSERT_TRUE(store->put_if_absent("wal/a-b_c.d/1", "hello").ok());
  const RecordedRequest request = server.requests().at(0);
  // ManualClock's wall clock starts at 2026-01-01T00:00:00Z, a Thursday.
  EXPECT_EQ(request.header("x-ms-date"), "Thu, 01 Jan 2026 00:00:00 GMT");
  const std::string string_to_sign =
      "PUT\n\n\n5\n\napplication/octet-stream\n\n\n\n*\n\n\n"
      "x-ms-blob-type:BlockBlob\nx-ms-date:Thu, 01 Jan 2026 00:00:00 GMT\nx-ms-version:2021-08-06\n"
      "/devstoreaccount1/devstoreaccount1/backups/wal/a-b_c.d/1";
  EXPECT_EQ(request.header("Authorization"), independent_authorization(string_to_sign));
}

TEST_F(AzureBlobStoreHttpTest, ListFollowsMarkersAndEncodesQueryValues) {
  // Markers are opaque to the client; this one needs percent-encoding and XML escaping.
  const std::string marker = "2!8+/=&x";
  ScriptedServer server([](int number, const httplib::Request&, httplib::Response& response) {
    const std::string blobs = number == 1 ? "<Blob><Name>wal/1</Name></Blob><Blob><Name>wal/2</Name></Blob>"
                                          : "<Blob><Name>wal/3</Name></Blob><Blob><Name>wal/4</Name></Blob>";
    const std::string next = number == 1 ? "<NextMarker>2!8+/=&amp;x</NextMarker>" : "<NextMarker/>";
    answer(response, 200, "", "<EnumerationResults><Blobs>" + blobs + "</Blobs>" + next + "</EnumerationResults>");
  });
  AzureBlobOptions options = options_for(server);
  options.list_page_size = 2;
  auto store = make_store(options);
  auto page = store->list("wal/", "wal/1", 2);
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  EXPECT_EQ(page->keys, (std::vector<std::string>{"wal/2", "wal/3"}));
  EXPECT_TRUE(page->more);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].target, "/devstoreaccount1/backups?restype=container&comp=list&prefix=wal%2F&maxresults=2");
  EXPECT_EQ(requests[1].param("marker"), marker);
  EXPECT_NE(requests[1].target.find("&marker=2%218%2B%2F%3D%26x&"), std::string::npos) << requests[1].target;
}

TEST_F(AzureBlobStoreHttpTest, ListRefusesAnOutOfOrderListing) {
  ScriptedServer server([](int, const httplib::Request&, httplib::Response& response) {
    answer(response, 200, "",
           "<EnumerationResults><Blobs><Blob><Name>b</Name></Blob><Blob><Name>a</Name></Blob></Blobs>"
           "</EnumerationResults>");
  });
  auto store = make_store(options_for(server));
  auto page = store->list("", "", 10);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.code(), ErrorCode::kInternal);
  EXPECT_NE(page.error().detail.find("out of order"), std::string::npos) << page.error().detail;
}

TEST_F(AzureBlobStoreHttpTest, ListStartAfterBeyondThePrefixAsksNothing) {
  ScriptedServer server([](int, const httplib::Request&, httplib::Response& response) { answer(response, 500); });
  auto store = make_store(options_for(server));
  auto page = store->list("wal/a/", "wal/b", 10);
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  EXPECT_TRUE(page->keys.empty());
  EXPECT_FALSE(page->more);
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(AzureBlobStoreHttpTest, ListGivesUpAfterThePageBound) {
  // A server that always has one more page of keys, all at or before start_after.
  ScriptedServer server([](int number, const httplib::Request&, httplib::Response& response) {
    answer(response, 200, "",
           "<EnumerationResults><Blobs><Blob><Name>a" + std::to_string(100'000 + number) +
               "</Name></Blob></Blobs><NextMarker>m</NextMarker></EnumerationResults>");
  });
  AzureBlobOptions options = options_for(server);
  options.list_page_size = 1;
  auto store = make_store(options);
  auto page = store->list("", "b", 10);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.code(), ErrorCode::kResourceExhausted) << page.error().to_string();
  EXPECT_EQ(server.requests().size(), AzureBlobStore::kListPagesMax);
}

TEST_F(AzureBlobStoreHttpTest, SasIsAppendedToEveryRequestAndNeverShown) {
  const std::string sas = "sv=2021-08-06&ss=b&srt=sco&sp=rwdlac&se=2030-01-01T00%3A00%3A00Z&sig=SECRET%2Bsig%3D";
  ScriptedServer server([](int, const httplib::Request&, httplib::Response& response) {
    answer(response, 500, "InternalError");
  });
  AzureBlobOptions options = options_for(server);
  options.key = Secret();
  options.sas = Secret(sas);
  options.attempts_max = 1;
  auto store = make_store(options);
  auto page = store->list("wal/", "", 10);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.error().detail.find("SECRET"), std::string::npos) << page.error().detail;
  EXPECT_NE(page.error().detail.find("sas ***"), std::string::npos) << page.error().detail;
  const Status status = store->put("k", "x");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().detail.find("SECRET"), std::string::npos) << status.error().detail;
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_TRUE(requests[0].target.ends_with("&" + sas)) << requests[0].target;
  EXPECT_TRUE(requests[1].target.ends_with("/backups/k?" + sas)) << requests[1].target;
  EXPECT_EQ(requests[1].header("Authorization"), "");
}

}  // namespace
}  // namespace hadr::azure
