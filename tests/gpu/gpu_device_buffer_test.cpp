#include "core/util/error.h"
#include "gpu/device_buffer.h"
#include "gpu_test_support.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <numeric>

namespace quantlens::gpu {
namespace {

using testing::HasSubstr;
using testing::ThrowsMessage;

TEST(DeviceBuffer, WithoutCudaSaysSoInsteadOfAllocating)
{
    if (builtWithCuda())
        GTEST_SKIP() << "this build has CUDA; the CPU-only variant is tested in a build without it";
    EXPECT_THAT([] { DeviceBuffer buffer(16); }, ThrowsMessage<UnsupportedError>(HasSubstr("built without CUDA")));
    EXPECT_THAT([] { Stream stream; }, ThrowsMessage<UnsupportedError>(HasSubstr("built without CUDA")));
    EXPECT_FALSE(available());
    EXPECT_THAT(unavailableReason(), HasSubstr("built without CUDA"));
}

TEST(DeviceBuffer, RoundTripsBytesThroughTheDevice)
{
    QUANTLENS_REQUIRE_GPU();
    std::vector<std::uint32_t> host(1000);
    std::iota(host.begin(), host.end(), 7u);
    DeviceBuffer buffer = DeviceBuffer::fromHost(std::span<const std::uint32_t>(host));
    EXPECT_EQ(buffer.size(), 4000u);
    EXPECT_EQ(buffer.download<std::uint32_t>(), host);
}

TEST(DeviceBuffer, OutOfMemoryNamesTheSizeAskedFor)
{
    QUANTLENS_REQUIRE_GPU();
    const std::size_t huge = std::size_t(1) << 50; // 1 PiB: more than any GPU has
    EXPECT_THAT([&] { DeviceBuffer buffer(huge); },
                ThrowsMessage<Error>(AllOf(HasSubstr("cudaMalloc of 1.00 PiB (1125899906842624 bytes"),
                                           HasSubstr("free of"), HasSubstr("out of memory"))));
    // The failure must not poison the context: the next allocation works.
    DeviceBuffer small(1024);
    EXPECT_EQ(small.size(), 1024u);
}

TEST(DeviceBuffer, RejectsCopiesThatDoNotFitNamingBothSizes)
{
    QUANTLENS_REQUIRE_GPU();
    DeviceBuffer buffer(8);
    std::vector<std::byte> host(16);
    EXPECT_THAT([&] { buffer.copyFromHost(host); },
                ThrowsMessage<UsageError>(HasSubstr("16 bytes at offset 0 does not fit a device buffer of 8 bytes")));
}

TEST(DeviceBuffer, MovesOwnershipSoMemoryIsFreedOnce)
{
    QUANTLENS_REQUIRE_GPU();
    DeviceBuffer a(256);
    const void* pointer = a.data();
    DeviceBuffer b = std::move(a);
    EXPECT_EQ(b.data(), pointer);
    EXPECT_EQ(a.data(), nullptr); // NOLINT(bugprone-use-after-move): the moved-from state is the contract
    EXPECT_EQ(a.size(), 0u);
}

} // namespace
} // namespace quantlens::gpu
