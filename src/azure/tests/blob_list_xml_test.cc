// Proves the List Blobs response parser: it returns the blob names in order and the
// NextMarker of a response shaped like Azure's and Azurite's; decodes entities, numeric
// character references, CDATA and Encoded="true" names; treats an empty or self-closing
// NextMarker as the last page; ignores names outside Blobs/Blob/Name (Prefix, Marker,
// metadata); and refuses malformed input (unbalanced or truncated tags, unknown entities, a
// wrong root, excessive nesting, too many names) with kInternal naming the problem.
#include "azure/blob_list_xml.h"

#include <gtest/gtest.h>

#include <string>

namespace hadr::azure {
namespace {

using Names = std::vector<std::string>;

BlobListPage parsed(std::string_view xml) {
  auto page = parse_blob_list(xml);
  EXPECT_TRUE(page.ok()) << page.error().to_string();
  return page.ok() ? std::move(page).value() : BlobListPage{};
}

TEST(BlobListXml, ParsesNamesAndNextMarker) {
  const BlobListPage page = parsed(R"(<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="http://127.0.0.1:10000/devstoreaccount1" ContainerName="c">
  <Prefix>wal/</Prefix><Marker/><MaxResults>2</MaxResults>
  <Blobs>
    <Blob><Name>wal/a/1</Name><Properties><Content-Length>5</Content-Length><BlobType>BlockBlob</BlobType></Properties></Blob>
    <Blob><Name>wal/a/2</Name><Properties/><Metadata><Name>not a blob</Name></Metadata></Blob>
  </Blobs>
  <NextMarker>2!88!MDAwMDA2IXdhbC9hLzMhMDAwMDI4ITk5OTktMTItMzFUMjM6NTk6NTkuOTk5OTk5OVoh</NextMarker>
</EnumerationResults>)");
  EXPECT_EQ(page.names, (Names{"wal/a/1", "wal/a/2"}));
  EXPECT_EQ(page.next_marker, "2!88!MDAwMDA2IXdhbC9hLzMhMDAwMDI4ITk5OTktMTItMzFUMjM6NTk6NTkuOTk5OTk5OVoh");
}

TEST(BlobListXml, EmptyNextMarkerEndsTheListing) {
  const BlobListPage page = parsed("<EnumerationResults><Blobs><Blob><Name>k</Name></Blob></Blobs><NextMarker></NextMarker></EnumerationResults>");
  EXPECT_EQ(page.names, (Names{"k"}));
  EXPECT_EQ(page.next_marker, "");
}

TEST(BlobListXml, SelfClosingNextMarkerEndsTheListing) {
  const BlobListPage page = parsed("<EnumerationResults><Blobs/><NextMarker /></EnumerationResults>");
  EXPECT_TRUE(page.names.empty());
  EXPECT_EQ(page.next_marker, "");
}

TEST(BlobListXml, DecodesPredefinedEntitiesAndCharacterReferences) {
  const BlobListPage page = parsed(
      "<EnumerationResults><Blobs><Blob><Name>a&amp;b&lt;c&gt;d&quot;e&apos;f&#47;g&#x2F;h&#xE9;</Name></Blob></Blobs>"
      "<NextMarker>m&amp;n</NextMarker></EnumerationResults>");
  EXPECT_EQ(page.names, (Names{"a&b<c>d\"e'f/g/h\xc3\xa9"}));
  EXPECT_EQ(page.next_marker, "m&n");
}

TEST(BlobListXml, DecodesCdataVerbatim) {
  const BlobListPage page =
      parsed("<EnumerationResults><Blobs><Blob><Name><![CDATA[a&amp;<b>]]></Name></Blob></Blobs></EnumerationResults>");
  EXPECT_EQ(page.names, (Names{"a&amp;<b>"}));
}

TEST(BlobListXml, DecodesEncodedNames) {
  const BlobListPage page = parsed(
      "<EnumerationResults><Blobs><Blob><Name Encoded=\"true\">a%20b%0Ac</Name></Blob></Blobs></EnumerationResults>");
  EXPECT_EQ(page.names, (Names{"a b\nc"}));
}

TEST(BlobListXml, SkipsCommentsAndIgnoresOtherElements) {
  const BlobListPage page = parsed(
      "<EnumerationResults><!-- a <Name> in a comment --><Prefix>p</Prefix><Blobs><BlobPrefix><Name>dir/</Name>"
      "</BlobPrefix><Blob><Name>p1</Name></Blob></Blobs></EnumerationResults>");
  EXPECT_EQ(page.names, (Names{"p1"}));
}

TEST(BlobListXml, AttributeValueMayHoldGreaterThan) {
  const BlobListPage page = parsed(
      "<EnumerationResults ServiceEndpoint=\"a>b\"><Blobs><Blob><Name>k</Name></Blob></Blobs></EnumerationResults>");
  EXPECT_EQ(page.names, (Names{"k"}));
}

void expect_rejected(std::string_view xml, std::string_view expected_words) {
  auto page = parse_blob_list(xml);
  ASSERT_FALSE(page.ok()) << "accepted: " << xml;
  EXPECT_EQ(page.code(), ErrorCode::kInternal);
  EXPECT_NE(page.error().detail.find(expected_words), std::string::npos) << page.error().detail;
}

TEST(BlobListXml, RejectsEmptyBody) { expect_rejected("", "truncated"); }
TEST(BlobListXml, RejectsTruncatedBody) { expect_rejected("<EnumerationResults><Blobs><Blob><Name>k", "truncated"); }
TEST(BlobListXml, RejectsUnbalancedTags) { expect_rejected("<EnumerationResults><Blobs></Blob></EnumerationResults>", "unexpected </Blob>"); }
TEST(BlobListXml, RejectsUnterminatedTag) { expect_rejected("<EnumerationResults><Blobs", "malformed tag"); }
TEST(BlobListXml, RejectsUnknownEntity) {
  expect_rejected("<EnumerationResults><Blobs><Blob><Name>a&nbsp;b</Name></Blob></Blobs></EnumerationResults>",
                  "unknown entity");
}
TEST(BlobListXml, RejectsBareAmpersand) {
  expect_rejected("<EnumerationResults><Blobs><Blob><Name>a & b</Name></Blob></Blobs></EnumerationResults>",
                  "starts no entity");
}
TEST(BlobListXml, RejectsCharacterReferenceToNul) {
  expect_rejected("<EnumerationResults><Blobs><Blob><Name>a&#0;</Name></Blob></Blobs></EnumerationResults>",
                  "unknown entity");
}
TEST(BlobListXml, RejectsWrongRoot) { expect_rejected("<Error><Code>AuthorizationFailure</Code></Error>", "root element <Error>"); }
TEST(BlobListXml, RejectsSecondRoot) {
  expect_rejected("<EnumerationResults></EnumerationResults><EnumerationResults></EnumerationResults>", "root element");
}
TEST(BlobListXml, RejectsEmptyName) {
  expect_rejected("<EnumerationResults><Blobs><Blob><Name/></Blob></Blobs></EnumerationResults>", "empty blob name");
}

TEST(BlobListXml, RejectsNestingDeeperThanBound) {
  std::string xml = "<EnumerationResults>";
  for (std::size_t i = 0; i < kXmlDepthMax; ++i) xml += "<x>";
  expect_rejected(xml, "nests deeper");
}

TEST(BlobListXml, RejectsMoreNamesThanAPageHolds) {
  std::string xml = "<EnumerationResults><Blobs>";
  for (std::size_t i = 0; i <= kBlobListNamesMax; ++i) xml += "<Blob><Name>k" + std::to_string(i) + "</Name></Blob>";
  xml += "</Blobs></EnumerationResults>";
  expect_rejected(xml, "more than 5000");
}

TEST(XmlUnescape, LeavesPlainTextAlone) {
  auto text = xml_unescape("wal/a/00000001.log");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "wal/a/00000001.log");
}

}  // namespace
}  // namespace hadr::azure
