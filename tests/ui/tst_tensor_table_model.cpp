#include "ui/models/tensor_filter_model.h"
#include "ui/models/tensor_table_model.h"

#include <QAbstractItemModelTester>
#include <QtTest>

using namespace quantlens;
using quantlens::ui::TensorTableModel;

namespace {

std::vector<core::TensorInfo> sampleTensors()
{
    auto make = [](std::string name, std::vector<std::uint64_t> shape, int layer, core::TensorRole role) {
        core::TensorInfo t;
        t.name = std::move(name);
        t.shape = std::move(shape);
        t.dtype = core::DType::BF16;
        t.byteSize = t.elementCount() * 2;
        t.layer = layer;
        t.role = role;
        return t;
    };
    return {make("model.embed_tokens.weight", {512, 64}, -1, core::TensorRole::Embedding),
            make("model.layers.0.self_attn.q_proj.weight", {64, 64}, 0, core::TensorRole::AttentionQ),
            make("model.layers.0.mlp.down_proj.weight", {64, 172}, 0, core::TensorRole::MlpDown),
            make("model.layers.1.self_attn.q_proj.weight", {64, 64}, 1, core::TensorRole::AttentionQ),
            make("model.norm.weight", {64}, -1, core::TensorRole::Norm)};
}

} // namespace

class TestTensorTableModel : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void passesTheItemModelTester()
    {
        TensorTableModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setTensors(sampleTensors());
        model.setError(1, QStringLiteral("nf4"), {0.01, 0.05, 20.0, 0.1, 0.995, 0, {}, false, {}, {}});
        model.setErrorScheme(QStringLiteral("nf4"));
        model.setError(2, QStringLiteral("nf4"), {0.02, 0.08, 18.0, 0.2, 0.99, 0, {}, false, {}, {}});
        model.clearErrors();
        model.setTensors({});
    }

    void showsTensorFieldsAndErrorsOfTheChosenScheme_data()
    {
        QTest::addColumn<int>("row");
        QTest::addColumn<int>("column");
        QTest::addColumn<QString>("text");
        QTest::newRow("name") << 1 << int(TensorTableModel::Name)
                              << QStringLiteral("model.layers.0.self_attn.q_proj.weight");
        QTest::newRow("layer") << 2 << int(TensorTableModel::Layer) << QStringLiteral("0");
        QTest::newRow("no layer") << 0 << int(TensorTableModel::Layer) << QStringLiteral("–");
        QTest::newRow("shape") << 2 << int(TensorTableModel::Shape) << QStringLiteral("64 × 172");
        QTest::newRow("dtype") << 0 << int(TensorTableModel::DType) << QStringLiteral("BF16");
        QTest::newRow("rmse") << 1 << int(TensorTableModel::Rmse) << QStringLiteral("0.0125");
        QTest::newRow("relative error") << 1 << int(TensorTableModel::RelError) << QStringLiteral("10.00 %");
        QTest::newRow("not scanned") << 3 << int(TensorTableModel::Rmse) << QStringLiteral("–");
        QTest::newRow("stored as the scheme") << 1 << int(TensorTableModel::StoredAs) << QStringLiteral("nf4");
        QTest::newRow("kept: no error shown") << 0 << int(TensorTableModel::Rmse) << QStringLiteral("–");
        QTest::newRow("kept") << 0 << int(TensorTableModel::StoredAs) << QStringLiteral("kept");
        QTest::newRow("fallback type") << 2 << int(TensorTableModel::StoredAs) << QStringLiteral("fp16");
        QTest::newRow("fallback's error") << 2 << int(TensorTableModel::Rmse) << QStringLiteral("0.0001");
    }

    void showsTensorFieldsAndErrorsOfTheChosenScheme()
    {
        QFETCH(int, row);
        QFETCH(int, column);
        QFETCH(QString, text);
        TensorTableModel model;
        model.setTensors(sampleTensors());
        model.setErrorScheme(QStringLiteral("nf4"));
        model.setError(1, QStringLiteral("nf4"), {0.0125, 0.05, 20.0, 0.1, 0.995, 0, {}, false, {}, {}});
        model.setError(1, QStringLiteral("q4_0"), {0.5, 0.5, 1.0, 0.9, 0.5, 0, {}, false, {}, {}});
        model.setError(0, QStringLiteral("nf4"),
                       {0, 0, 0, 0, 1, 0, {}, true, {}, QStringLiteral("kept as stored: not a Linear weight")});
        model.setError(2, QStringLiteral("nf4"),
                       {0.0001, 0.0002, 90.0, 0.001, 1, 0, {}, false, QStringLiteral("fp16"), QStringLiteral("f16")});
        QCOMPARE(model.index(row, column).data().toString(), text);
        if (row == 0 && column >= TensorTableModel::StoredAs)
            QVERIFY(model.index(row, column).data(Qt::ToolTipRole).toString().contains(QStringLiteral("Linear")));
    }

    void heatColourGrowsWithRelativeError()
    {
        TensorTableModel model;
        model.setTensors(sampleTensors());
        model.setErrorScheme(QStringLiteral("nf4"));
        model.setError(1, QStringLiteral("nf4"), {0.01, 0.05, 20.0, 0.05, 0.995, 0, {}, false, {}, {}});
        model.setError(2, QStringLiteral("nf4"), {0.02, 0.08, 18.0, 0.2, 0.99, 0, {}, false, {}, {}});
        const auto mild = model.index(1, TensorTableModel::RelError).data(Qt::BackgroundRole).value<QColor>();
        const auto worst = model.index(2, TensorTableModel::RelError).data(Qt::BackgroundRole).value<QColor>();
        QVERIFY(worst.alphaF() > mild.alphaF());
    }

    void filterMatchesNamesByRegexAndSortsNumbersAsNumbers()
    {
        TensorTableModel model;
        model.setTensors(sampleTensors());
        ui::TensorFilterModel filter;
        filter.setSourceModel(&model);
        QVERIFY(filter.setNamePattern(QStringLiteral("q_proj")));
        QCOMPARE(filter.rowCount(), 2);
        QVERIFY(!filter.setNamePattern(QStringLiteral("(unclosed")));
        QCOMPARE(filter.rowCount(), 2);
        QVERIFY(filter.setNamePattern(QString()));
        filter.sort(TensorTableModel::Parameters, Qt::DescendingOrder);
        QCOMPARE(filter.index(0, TensorTableModel::Name).data().toString(),
                 QStringLiteral("model.embed_tokens.weight"));
        QCOMPARE(filter.index(4, TensorTableModel::Name).data().toString(), QStringLiteral("model.norm.weight"));
    }
};

QTEST_MAIN(TestTensorTableModel)
#include "tst_tensor_table_model.moc"
