#include "ui/views/planner_form.h"

#include "core/util/units.h"
#include "ui/error_dialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QCompleter>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace quantlens::ui {

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

template <typename Enum> void addEnumItems(QComboBox* combo, std::initializer_list<std::pair<Enum, const char*>> items)
{
    for (const auto& [value, label] : items)
        combo->addItem(QString::fromUtf8(label), int(value));
}

void selectData(QComboBox* combo, int value)
{
    const int index = combo->findData(value);
    if (index >= 0)
        combo->setCurrentIndex(index);
}

QCompleter* searchCompleter(QComboBox* combo)
{
    auto* completer = new QCompleter(combo->model(), combo);
    completer->setCaseSensitivity(Qt::CaseInsensitive);
    completer->setFilterMode(Qt::MatchContains);
    completer->setCompletionMode(QCompleter::PopupCompletion);
    return completer;
}

} // namespace

PlannerForm::PlannerForm(QWidget* parent)
    : QWidget(parent)
{
    setObjectName(QStringLiteral("plannerForm"));
    m_input.model = core::findModelPreset("llama-3.1-8b");
    m_input.method = core::TrainingMethod::Qlora;
    m_input.gradientCheckpointing = true;
    m_input.seqLen = 2048;
    m_input.gpu = "rtx-4090";
    buildWidgets();
    writeWidgets();
}

void PlannerForm::buildWidgets()
{
    m_model = new QComboBox(this);
    m_model->setObjectName(QStringLiteral("modelCombo"));
    m_model->setEditable(true);
    m_model->setInsertPolicy(QComboBox::NoInsert);
    for (const auto& preset : core::modelPresets()) {
        m_model->addItem(QStringLiteral("%1 — %2 params")
                             .arg(QString::fromStdString(preset.displayName),
                                  QString::fromStdString(core::formatCount(double(preset.parameters.total())))),
                         QString::fromStdString(preset.name));
    }
    m_model->setCompleter(searchCompleter(m_model));
    m_model->setToolTip(tr("A bundled model preset (type to search), or a parameter count such as 7B or 350M"));
    m_openConfig = new QPushButton(tr("config.json…"), this);
    m_openConfig->setToolTip(tr("Plan for the model described by a Hugging Face config.json"));
    m_modelInfo = new QLabel(this);
    m_modelInfo->setWordWrap(true);
    m_modelInfo->setObjectName(QStringLiteral("modelInfo"));

    m_method = new QComboBox(this);
    addEnumItems<core::TrainingMethod>(m_method,
                                       {{core::TrainingMethod::Full, "Full finetuning"},
                                        {core::TrainingMethod::Lora, "LoRA"},
                                        {core::TrainingMethod::Qlora, "QLoRA (4-bit base)"},
                                        {core::TrainingMethod::Inference, "Inference"}});
    m_method->setToolTip(tr("Train every weight, train low-rank adapters on a frozen base (LoRA, QLoRA), or only run "
                            "the model"));
    m_precision = new QComboBox(this);
    addEnumItems<core::Precision>(m_precision,
                                  {{core::Precision::Bf16, "bf16"},
                                   {core::Precision::Fp16, "fp16"},
                                   {core::Precision::Fp32, "fp32"},
                                   {core::Precision::Mixed, "mixed (fp32 master + bf16 autocast)"}});
    m_precision->setToolTip(tr("The dtype training computes in; mixed keeps fp32 weights and autocasts to bf16"));
    m_weights = new QComboBox(this);
    m_weights->addItem(tr("follow method"), -1);
    addEnumItems<core::WeightFormat>(m_weights,
                                     {{core::WeightFormat::Bf16, "bf16"},
                                      {core::WeightFormat::Fp16, "fp16"},
                                      {core::WeightFormat::Fp32, "fp32"},
                                      {core::WeightFormat::Int8, "int8"},
                                      {core::WeightFormat::Nf4, "NF4"},
                                      {core::WeightFormat::Fp4, "FP4"}});
    m_weights->setToolTip(tr("Storage format of the frozen base weights (LoRA, QLoRA, inference)"));
    m_doubleQuant = new QCheckBox(tr("double quantization"), this);
    m_doubleQuant->setToolTip(
        tr("Quantize the 4-bit blocks' absmax constants to 8 bits: ~0.37 bit per parameter less"));
    m_optimizer = new QComboBox(this);
    addEnumItems<core::OptimizerKind>(m_optimizer,
                                      {{core::OptimizerKind::AdamW, "AdamW (states in the parameters' dtype)"},
                                       {core::OptimizerKind::AdamW8bit, "AdamW 8-bit"},
                                       {core::OptimizerKind::PagedAdamW8bit, "paged AdamW 8-bit"},
                                       {core::OptimizerKind::PagedAdamW, "paged AdamW"},
                                       {core::OptimizerKind::Sgd, "SGD with momentum"},
                                       {core::OptimizerKind::Adafactor, "Adafactor"},
                                       {core::OptimizerKind::Lion, "Lion"}});
    m_optimizer->setToolTip(tr("The optimizer and how it stores its states; paged ones can spill to CPU RAM"));
    m_seq = new QSpinBox(this);
    // The planner's own limits; 0 is accepted here so that the verdict says what is wrong with it
    // (a spin box would silently put the last value back).
    m_seq->setRange(0, int(core::kMaxSeqLen));
    m_seq->setSingleStep(256);
    m_seq->setToolTip(tr("Tokens per sequence"));
    m_batch = new QSpinBox(this);
    m_batch->setRange(0, int(core::kMaxMicroBatchSize));
    m_batch->setToolTip(tr("Sequences per micro-batch on each GPU"));
    m_checkpointing = new QCheckBox(tr("gradient checkpointing"), this);
    m_checkpointing->setObjectName(QStringLiteral("checkpointingBox"));
    m_checkpointing->setToolTip(tr("Keep only each layer's input and recompute the rest in the backward pass"));
    m_freeOutputs = new QCheckBox(tr("outputs freed before backward (Trainer)"), this);
    m_freeOutputs->setObjectName(QStringLiteral("freeOutputsBox"));
    m_freeOutputs->setToolTip(tr("transformers' Trainer keeps only the loss, so the logits are gone by the backward "
                                 "pass. Unticked: a loop that writes out = model(**batch); out.loss.backward() "
                                 "holds them (2 bytes per token and vocabulary entry) until the step ends"));
    m_kvCacheBits = new QComboBox(this);
    m_kvCacheBits->setObjectName(QStringLiteral("kvCacheBitsCombo"));
    m_kvCacheBits->addItem(tr("16-bit (the model's dtype)"), 16);
    m_kvCacheBits->addItem(tr("8-bit (QuantizedCache, HQQ)"), 8);
    m_kvCacheBits->addItem(tr("4-bit (QuantizedCache)"), 4);
    m_kvCacheBits->addItem(tr("2-bit (QuantizedCache)"), 2);
    m_kvCacheBits->setToolTip(tr("Inference: transformers' QuantizedCache stores keys and values in groups of 64 "
                                 "with a 16-bit scale and zero point, the last 128 tokens in 16 bits"));
    m_tensorParallel = new QCheckBox(tr("tensor parallel (inference)"), this);
    m_tensorParallel->setObjectName(QStringLiteral("tensorParallelBox"));
    m_tensorParallel->setToolTip(tr("Split a served model's weights, KV heads and MLP across the GPUs (vLLM, "
                                    "transformers' tp_plan). Unticked: every GPU holds the whole model"));
    m_expandable = new QCheckBox(tr("expandable segments"), this);
    m_expandable->setObjectName(QStringLiteral("expandableBox"));
    m_expandable->setToolTip(tr("PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True: the allocator grows one segment "
                                "per pool, so freed blocks merge and fragmentation shrinks"));
    m_attention = new QComboBox(this);
    addEnumItems<core::AttentionKind>(
        m_attention,
        {{core::AttentionKind::Sdpa, "SDPA / flash"}, {core::AttentionKind::Eager, "eager (stores s² scores)"}});
    m_attention->setToolTip(tr("Memory-efficient attention keeps no s×s score matrix; eager attention does"));
    m_rank = new QSpinBox(this);
    m_rank->setRange(0, core::kMaxLoraRank);
    m_rank->setToolTip(tr("LoRA rank r: each adapted [out, in] layer gains r·(in + out) trainable parameters"));
    m_alpha = new QDoubleSpinBox(this);
    m_alpha->setRange(0.1, 10000);
    m_alpha->setToolTip(tr("LoRA alpha: scales the adapter's output (alpha / r); no effect on memory"));
    static const std::pair<unsigned, const char*> targets[]
        = {{core::kLoraQ, "q"},       {core::kLoraK, "k"},   {core::kLoraV, "v"},      {core::kLoraO, "o"},
           {core::kLoraGate, "gate"}, {core::kLoraUp, "up"}, {core::kLoraDown, "down"}};
    auto* targetRow = new QHBoxLayout;
    for (const auto& [flag, name] : targets) {
        auto* box = new QCheckBox(QString::fromLatin1(name), this);
        box->setProperty("loraFlag", flag);
        box->setToolTip(tr("Put a LoRA adapter on the %1 projection of every layer").arg(QString::fromLatin1(name)));
        m_targets << box;
        targetRow->addWidget(box);
    }
    targetRow->addStretch();

    m_gpu = new QComboBox(this);
    m_gpu->setObjectName(QStringLiteral("gpuCombo"));
    m_gpu->setEditable(true);
    m_gpu->setInsertPolicy(QComboBox::NoInsert);
    for (const auto& gpu : core::gpuCatalogue()) {
        m_gpu->addItem(
            QStringLiteral("%1 — %2").arg(QString::fromStdString(gpu.name),
                                          QString::fromStdString(core::formatGB(double(gpu.memoryBytesSold), 0))),
            QString::fromStdString(gpu.id));
    }
    m_gpu->setCompleter(searchCompleter(m_gpu));
    m_gpu->setToolTip(tr("The GPU to plan for (type to search); usable memory is what nvidia-smi reports"));
    m_gpus = new QSpinBox(this);
    m_gpus->setRange(0, core::kMaxGpus);
    m_gpus->setToolTip(tr("Number of GPUs training data-parallel"));
    m_zero = new QComboBox(this);
    m_zero->addItem(tr("DDP (no sharding)"), 0);
    m_zero->addItem(tr("ZeRO-1 (optimizer states)"), 1);
    m_zero->addItem(tr("ZeRO-2 (+ gradients)"), 2);
    m_zero->addItem(tr("ZeRO-3 / FSDP full shard (+ weights)"), 3);
    m_zero->setToolTip(tr("What is sharded across the GPUs; activations are never sharded by data parallelism"));
    m_contextMiB = new QDoubleSpinBox(this);
    m_contextMiB->setRange(0, 16384);
    m_contextMiB->setDecimals(0);
    m_contextMiB->setSuffix(tr(" MiB"));
    m_contextMiB->setToolTip(tr("The CUDA context right after initialisation, visible to nvidia-smi, not to "
                                "PyTorch (620.8 MiB measured on an H100). The kernels a step loads (146 MiB, 128 "
                                "MiB more with bitsandbytes) are added apart"));
    m_allocator = new QDoubleSpinBox(this);
    m_allocator->setObjectName(QStringLiteral("allocatorSpin"));
    m_allocator->setRange(0, 100);
    m_allocator->setDecimals(1);
    m_allocator->setSuffix(tr(" %"));
    m_allocator->setToolTip(tr("Training on one GPU is simulated tensor by tensor through PyTorch's caching "
                               "allocator, which gives its reserve. For several GPUs and inference: how much more "
                               "the allocator reserves than it allocates, as a share of the memory beyond the "
                               "weights, by default 9%, and 30% when a training step is checkpointed. An edit "
                               "changes the one in use."));

    auto* modelBox = new QGroupBox(tr("Model"), this);
    auto* modelLayout = new QFormLayout(modelBox);
    auto* modelRow = new QHBoxLayout;
    modelRow->addWidget(m_model, 1);
    modelRow->addWidget(m_openConfig);
    // A row holding a layout gets no buddy by itself: without one the label would show "&Model".
    auto* modelLabel = new QLabel(tr("&Model"), this);
    modelLabel->setBuddy(m_model);
    modelLayout->addRow(modelLabel, modelRow);
    modelLayout->addRow(m_modelInfo);

    auto* trainBox = new QGroupBox(tr("Training"), this);
    auto* train = new QFormLayout(trainBox);
    train->addRow(tr("M&ethod"), m_method);
    train->addRow(tr("&Precision"), m_precision);
    train->addRow(tr("&Weights"), m_weights);
    train->addRow(QString(), m_doubleQuant);
    train->addRow(tr("&Optimizer"), m_optimizer);
    train->addRow(tr("&Sequence length"), m_seq);
    train->addRow(tr("Micro-&batch"), m_batch);
    train->addRow(QString(), m_checkpointing);
    train->addRow(QString(), m_freeOutputs);
    train->addRow(tr("&Attention"), m_attention);
    train->addRow(tr("&KV cache"), m_kvCacheBits);

    auto* loraBox = new QGroupBox(tr("LoRA"), this);
    auto* lora = new QFormLayout(loraBox);
    lora->addRow(tr("&Rank"), m_rank);
    lora->addRow(tr("A&lpha"), m_alpha);
    lora->addRow(tr("Targets"), targetRow);

    auto* hwBox = new QGroupBox(tr("Hardware"), this);
    auto* hw = new QFormLayout(hwBox);
    hw->addRow(tr("&GPU"), m_gpu);
    hw->addRow(tr("GPU &count"), m_gpus);
    hw->addRow(tr("S&harding"), m_zero); // Alt+S is the sequence length's
    hw->addRow(tr("CUDA context"), m_contextMiB);
    hw->addRow(tr("Allocator overhead"), m_allocator);
    hw->addRow(QString(), m_tensorParallel);
    hw->addRow(QString(), m_expandable);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(modelBox);
    layout->addWidget(trainBox);
    layout->addWidget(loraBox);
    layout->addWidget(hwBox);
    layout->addStretch();

    auto changed = [this] { widgetsChanged(); };
    for (QComboBox* combo : {m_method, m_precision, m_weights, m_optimizer, m_attention, m_zero, m_kvCacheBits})
        connect(combo, &QComboBox::currentIndexChanged, this, changed);
    for (QSpinBox* spin : {m_seq, m_batch, m_rank, m_gpus})
        connect(spin, &QSpinBox::valueChanged, this, changed);
    for (QDoubleSpinBox* spin : {m_alpha, m_contextMiB, m_allocator})
        connect(spin, &QDoubleSpinBox::valueChanged, this, changed);
    for (QCheckBox* box : m_targets) {
        connect(box, &QCheckBox::toggled, this, [this, box, changed](bool on) {
            // LoRA needs at least one target module: the last one cannot be unticked (the plan
            // would otherwise silently fall back to q while every box shows empty).
            if (!on && std::none_of(m_targets.begin(), m_targets.end(), [](QCheckBox* b) { return b->isChecked(); })) {
                const QSignalBlocker quiet(box);
                box->setChecked(true);
                return;
            }
            changed();
        });
    }
    for (QCheckBox* box : {m_doubleQuant, m_checkpointing, m_freeOutputs, m_expandable, m_tensorParallel})
        connect(box, &QCheckBox::toggled, this, changed);
    connect(m_gpu, &QComboBox::activated, this, changed);
    connect(m_model, &QComboBox::activated, this, [this, changed](int index) {
        if (m_updating)
            return;
        try {
            m_input.model = core::findModelPreset(m_model->itemData(index).toString().toStdString());
        } catch (const std::exception& e) {
            Q_EMIT modelFailed(m_model->currentText(), QString::fromStdString(e.what()));
            return;
        }
        changed();
        writeWidgets();
    });
    connect(m_model->lineEdit(), &QLineEdit::returnPressed, this, &PlannerForm::modelTextEntered);
    connect(m_gpu->lineEdit(), &QLineEdit::editingFinished, this, &PlannerForm::gpuTextEntered);
    connect(m_openConfig, &QPushButton::clicked, this, &PlannerForm::openConfig);
}

void PlannerForm::widgetsChanged()
{
    if (m_updating)
        return;
    readWidgets();
    showAllocatorFraction(); // checkpointing or the method may have chosen the other fraction
    updateEnabledState();
    Q_EMIT inputChanged(m_input);
}

// A GPU typed rather than picked ("h100-sxm", "NVIDIA H100 (SXM)") is planned for; anything else
// puts the chosen GPU's name back, so that the field never shows a GPU the plan is not for.
void PlannerForm::gpuTextEntered()
{
    const QString text = m_gpu->currentText().trimmed();
    if (m_gpu->currentIndex() >= 0 && m_gpu->itemText(m_gpu->currentIndex()) == text)
        return;
    int index = m_gpu->findText(text);
    QString problem;
    if (index < 0) {
        try {
            index = m_gpu->findData(QString::fromStdString(core::findGpu(text.toStdString()).id));
        } catch (const std::exception& e) {
            problem = QString::fromStdString(e.what());
        }
    }
    if (index < 0) {
        m_gpu->setEditText(m_gpu->currentIndex() >= 0 ? m_gpu->itemText(m_gpu->currentIndex()) : QString());
        if (!problem.isEmpty())
            showError(this, tr("GPU"), problem);
        return;
    }
    m_gpu->setCurrentIndex(index);
    widgetsChanged();
}

void PlannerForm::modelTextEntered()
{
    const QString text = m_model->currentText().trimmed();
    const int index = m_model->findText(text, Qt::MatchContains);
    if (index >= 0 && m_model->itemText(index) == text)
        return; // the activated() handler took it
    try {
        m_input.model = core::modelSpecFromParameterCount(core::parseParameterCount(text.toStdString()));
    } catch (const std::exception& e) {
        Q_EMIT modelFailed(text,
                           tr("'%1' is neither a preset nor a parameter count (like 7B or 350M): %2")
                               .arg(text, QString::fromStdString(e.what())));
        return;
    }
    writeWidgets();
    Q_EMIT inputChanged(m_input);
}

void PlannerForm::openConfig()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Open config.json"), QString(),
                                                      tr("Hugging Face config (config.json *.json);;All files (*)"));
    if (!path.isEmpty())
        setModelSource(path);
}

bool PlannerForm::setModelSource(const QString& presetOrConfigPath)
{
    try {
        m_input.model = core::resolveModel(presetOrConfigPath.toStdString());
    } catch (const std::exception& e) {
        Q_EMIT modelFailed(presetOrConfigPath, QString::fromStdString(e.what()));
        return false;
    }
    writeWidgets();
    Q_EMIT inputChanged(m_input);
    return true;
}

void PlannerForm::setGpu(const QString& gpuId)
{
    const int index = m_gpu->findData(gpuId);
    if (index < 0)
        return;
    m_input.gpu = gpuId.toStdString();
    writeWidgets();
    Q_EMIT inputChanged(m_input);
}

void PlannerForm::setInput(const core::PlanInput& input)
{
    m_input = input;
    writeWidgets();
    Q_EMIT inputChanged(m_input);
}

void PlannerForm::showAllocatorFraction()
{
    const QSignalBlocker quiet(m_allocator);
    m_allocator->setValue(core::allocatorFractionInUse(m_input) * 100.0);
    // Training on one GPU is simulated through the caching allocator: no fraction is used then, and
    // the field says so. Otherwise two fractions are calibrated apart; the field says which one this
    // plan uses, so that a method change from 30% to 9% is not silent.
    const bool simulated = core::simulatesAllocator(m_input);
    m_allocator->setEnabled(!simulated);
    const bool checkpointed
        = &core::allocatorFractionInUse(m_input) == &m_input.overheads.checkpointingAllocatorFraction;
    m_allocator->setSuffix(simulated          ? tr(" % (unused: one GPU is simulated)")
                               : checkpointed ? tr(" % (checkpointed step)")
                                              : tr(" % (no checkpointing)"));
}

void PlannerForm::readWidgets()
{
    // The field shows the fraction in use before this change; an edit (beyond the field's 0.1%
    // rounding) sets that one. Read first, before the settings that choose between them.
    double& applied = core::allocatorFractionInUse(m_input);
    if (std::abs(m_allocator->value() - applied * 100.0) > 0.05)
        applied = m_allocator->value() / 100.0;
    m_input.method = core::TrainingMethod(m_method->currentData().toInt());
    m_input.precision = core::Precision(m_precision->currentData().toInt());
    const int weights = m_weights->currentData().toInt();
    m_input.weights = weights < 0 ? std::nullopt : std::optional(core::WeightFormat(weights));
    m_input.doubleQuant = m_doubleQuant->isChecked();
    m_input.optimizer = core::OptimizerKind(m_optimizer->currentData().toInt());
    m_input.seqLen = m_seq->value();
    m_input.microBatch = m_batch->value();
    m_input.gradientCheckpointing = m_checkpointing->isChecked();
    m_input.keepOutputs = !m_freeOutputs->isChecked();
    m_input.kvCacheBits = m_kvCacheBits->currentData().toInt();
    m_input.expandableSegments = m_expandable->isChecked();
    m_input.tensorParallel = m_tensorParallel->isChecked() && m_input.method == core::TrainingMethod::Inference;
    m_input.attention = core::AttentionKind(m_attention->currentData().toInt());
    m_input.loraRank = m_rank->value();
    m_input.loraAlpha = m_alpha->value();
    unsigned targets = 0;
    for (QCheckBox* box : m_targets) {
        if (box->isChecked())
            targets |= box->property("loraFlag").toUInt();
    }
    m_input.loraTargets = targets == 0 ? unsigned(core::kLoraQ) : targets;
    if (m_gpu->currentIndex() >= 0)
        m_input.gpu = m_gpu->currentData().toString().toStdString();
    m_input.gpus = m_gpus->value();
    m_input.zeroStage = m_zero->currentData().toInt();
    m_input.overheads.cudaContextBytes = std::uint64_t(m_contextMiB->value() * kMiB);
}

void PlannerForm::writeWidgets()
{
    m_updating = true;
    const int modelIndex = m_model->findData(QString::fromStdString(m_input.model.name));
    if (modelIndex >= 0)
        m_model->setCurrentIndex(modelIndex);
    else
        m_model->setEditText(QString::fromStdString(m_input.model.displayName));
    const auto& m = m_input.model;
    m_modelInfo->setText(
        m.hasArchitecture
            ? tr("%1 parameters · %2 layers · hidden %3 · %4 heads (%5 KV) · MLP %6 · vocab %7%8")
                  .arg(QString::fromStdString(core::formatThousands(m.parameters.total())))
                  .arg(m.layers)
                  .arg(m.hidden)
                  .arg(m.heads)
                  .arg(m.kvHeads)
                  .arg(m.intermediate)
                  .arg(m.vocab)
                  .arg(m.experts > 1 ? tr(" · %1 experts, %2 active").arg(m.experts).arg(m.expertsPerToken) : QString())
            : tr("%1 parameters; no architecture: activations are scaled from a Llama-shaped model of that size")
                  .arg(QString::fromStdString(core::formatThousands(m.parameters.total()))));
    selectData(m_method, int(m_input.method));
    selectData(m_precision, int(m_input.precision));
    selectData(m_weights, m_input.weights ? int(*m_input.weights) : -1);
    m_doubleQuant->setChecked(m_input.doubleQuant);
    selectData(m_optimizer, int(m_input.optimizer));
    m_seq->setValue(int(m_input.seqLen));
    m_batch->setValue(int(m_input.microBatch));
    m_checkpointing->setChecked(m_input.gradientCheckpointing);
    m_freeOutputs->setChecked(!m_input.keepOutputs);
    selectData(m_kvCacheBits, m_input.kvCacheBits);
    m_expandable->setChecked(m_input.expandableSegments);
    m_tensorParallel->setChecked(m_input.tensorParallel);
    selectData(m_attention, int(m_input.attention));
    m_rank->setValue(m_input.loraRank);
    m_alpha->setValue(m_input.loraAlpha);
    for (QCheckBox* box : m_targets)
        box->setChecked((m_input.loraTargets & box->property("loraFlag").toUInt()) != 0);
    selectData(m_gpu, -1);
    const int gpuIndex = m_gpu->findData(QString::fromStdString(m_input.gpu));
    if (gpuIndex >= 0)
        m_gpu->setCurrentIndex(gpuIndex);
    m_gpus->setValue(m_input.gpus);
    selectData(m_zero, m_input.zeroStage);
    m_contextMiB->setValue(double(m_input.overheads.cudaContextBytes) / kMiB);
    showAllocatorFraction();
    updateEnabledState();
    m_updating = false;
}

void PlannerForm::updateEnabledState()
{
    const bool adapters = m_input.method == core::TrainingMethod::Lora || m_input.method == core::TrainingMethod::Qlora;
    const bool training = m_input.method != core::TrainingMethod::Inference;
    m_rank->setEnabled(adapters);
    m_alpha->setEnabled(adapters);
    for (QCheckBox* box : m_targets)
        box->setEnabled(adapters);
    m_optimizer->setEnabled(training);
    m_checkpointing->setEnabled(training);
    m_freeOutputs->setEnabled(training);
    m_kvCacheBits->setEnabled(!training);
    m_expandable->setEnabled(core::simulatesAllocator(m_input));
    m_tensorParallel->setEnabled(!training && m_input.gpus > 1);
    m_zero->setEnabled(training && m_input.gpus > 1);
    const bool fourBit = m_input.method == core::TrainingMethod::Qlora
        || (m_input.weights
            && (*m_input.weights == core::WeightFormat::Nf4 || *m_input.weights == core::WeightFormat::Fp4));
    m_doubleQuant->setEnabled(fourBit);
}

} // namespace quantlens::ui
