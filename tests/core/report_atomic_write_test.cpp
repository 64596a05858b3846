#include "core/report/atomic_write.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace quantlens;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

namespace {

class AtomicWrite : public ::testing::Test {
protected:
    void SetUp() override
    {
        m_dir = std::filesystem::temp_directory_path() / ("quantlens-atomic-" + std::to_string(::getpid()));
        std::filesystem::remove_all(m_dir);
        std::filesystem::create_directories(m_dir);
    }
    void TearDown() override
    {
        std::filesystem::permissions(m_dir, std::filesystem::perms::owner_all, std::filesystem::perm_options::add);
        std::filesystem::remove_all(m_dir);
    }
    static std::string read(const std::filesystem::path& p)
    {
        std::ifstream in(p, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    std::size_t entries() const
    {
        return static_cast<std::size_t>(
            std::distance(std::filesystem::directory_iterator(m_dir), std::filesystem::directory_iterator()));
    }
    std::filesystem::path m_dir;
};

} // namespace

TEST_F(AtomicWrite, WritesTheWholeContentAndLeavesNoTemporaryFile)
{
    const auto path = m_dir / "report.html";
    core::writeFileAtomically(path, "<html/>", false);
    EXPECT_EQ(read(path), "<html/>");
    EXPECT_EQ(entries(), 1u);
}

TEST_F(AtomicWrite, RefusesToReplaceAnExistingFileUnlessForced)
{
    const auto path = m_dir / "report.md";
    core::writeFileAtomically(path, "old", false);
    EXPECT_THAT([&] { core::writeFileAtomically(path, "new", false); },
                ThrowsMessage<UsageError>(HasSubstr("report.md exists; use --force to replace it")));
    EXPECT_EQ(read(path), "old");
    core::writeFileAtomically(path, "new", true);
    EXPECT_EQ(read(path), "new");
    EXPECT_EQ(entries(), 1u);
}

TEST_F(AtomicWrite, NamesAMissingFolder)
{
    const auto path = m_dir / "no-such-folder" / "report.json";
    EXPECT_THAT(
        [&] { core::writeFileAtomically(path, "{}", false); },
        ThrowsMessage<IoError>(HasSubstr("the folder " + (m_dir / "no-such-folder").string() + " does not exist")));
}

TEST_F(AtomicWrite, RefusesAFolderAsTheOutput)
{
    EXPECT_THAT([&] { core::writeFileAtomically(m_dir, "{}", true); },
                ThrowsMessage<UsageError>(HasSubstr("is a folder")));
}

TEST_F(AtomicWrite, GivesTheSystemReasonForAnUnwritableFolder)
{
    if (::geteuid() == 0)
        GTEST_SKIP() << "root writes into read-only folders; the permission check cannot fail";
    std::filesystem::permissions(m_dir, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    EXPECT_THAT([&] { core::writeFileAtomically(m_dir / "r.csv", "a", false); },
                ThrowsMessage<IoError>(HasSubstr("Permission denied")));
}

// Files that belong together are written together: both new, or (a refusal) both old, and no
// temporary file left either way.
TEST_F(AtomicWrite, SeveralFilesAreAllWrittenOrNoneIs)
{
    const auto a = m_dir / "report.csv", b = m_dir / "report-planner.csv";
    core::writeFilesAtomically({{a, "tensors v1"}, {b, "plan v1"}}, false);
    EXPECT_EQ(read(a), "tensors v1");
    EXPECT_EQ(read(b), "plan v1");
    std::filesystem::remove(a);
    // b exists and force is off: refused before anything is written, a is not created.
    EXPECT_THAT(
        [&] {
            core::writeFilesAtomically({{a, "tensors v2"}, {b, "plan v2"}}, false);
        },
        ThrowsMessage<UsageError>(HasSubstr("report-planner.csv exists")));
    EXPECT_FALSE(std::filesystem::exists(a));
    EXPECT_EQ(read(b), "plan v1");
    // A target in a folder that does not exist: the other file keeps its old content.
    EXPECT_THROW(core::writeFilesAtomically({{b, "plan v3"}, {m_dir / "missing" / "x.csv", "x"}}, true), IoError);
    EXPECT_EQ(read(b), "plan v1");
    EXPECT_EQ(entries(), 1u) << "no temporary file left behind";
    core::writeFilesAtomically({{a, "tensors v4"}, {b, "plan v4"}}, true);
    EXPECT_EQ(read(a), "tensors v4");
    EXPECT_EQ(read(b), "plan v4");
    EXPECT_EQ(entries(), 2u);
}
