#include "ui/main_window.h"

#include "core/util/version.h"
#include "gpu/device.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QKeySequence>
#include <QLabel>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QResizeEvent>
#include <QScrollArea>
#include <QScrollBar>
#include <QSettings>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>

#include <algorithm>

namespace quantlens::ui {

namespace {

// A workspace fills the area it is shown in, and scrolls only where the area is smaller than the
// workspace's minimum size. QScrollArea's own widgetResizable gives a page with word-wrapped labels
// its preferred height for the width instead (heightForWidth), which made the Inspector's table
// taller than the window and the whole page scroll.
class WorkspaceScrollArea : public QScrollArea {
public:
    explicit WorkspaceScrollArea(QWidget* parent)
        : QScrollArea(parent)
    {
        setFrameShape(QFrame::NoFrame);
        setWidgetResizable(false);
    }
    void setWorkspace(QWidget* page)
    {
        setWidget(page);
        page->installEventFilter(this);
        fit();
    }

protected:
    void resizeEvent(QResizeEvent* event) override
    {
        QScrollArea::resizeEvent(event);
        fit();
    }
    bool eventFilter(QObject* watched, QEvent* event) override
    {
        if (watched == widget() && event->type() == QEvent::LayoutRequest)
            fit();
        return QScrollArea::eventFilter(watched, event);
    }

private:
    void fit()
    {
        QWidget* page = widget();
        if (!page)
            return;
        const QSize least = page->minimumSizeHint().expandedTo(page->minimumSize());
        const QSize area = maximumViewportSize();
        QSize size = area.expandedTo(least);
        // A scroll bar in one direction takes room from the other.
        if (size.width() > area.width())
            size.setHeight(std::max(least.height(), area.height() - horizontalScrollBar()->sizeHint().height()));
        if (size.height() > area.height())
            size.setWidth(std::max(least.width(), area.width() - verticalScrollBar()->sizeHint().width()));
        if (page->size() != size)
            page->resize(size);
    }
};

} // namespace

namespace {

constexpr int kMaxRecentFiles = 10;

} // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent)
{
    setWindowTitle(QStringLiteral("QuantLens"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/quantlens.svg")));

    m_sidebar = new QListWidget(this);
    m_sidebar->setObjectName(QStringLiteral("workspaceSidebar"));
    m_sidebar->setSelectionMode(QAbstractItemView::SingleSelection);
    m_sidebar->setMaximumWidth(200);
    m_sidebar->setMinimumWidth(140);

    m_stack = new QStackedWidget(this);
    m_stack->setObjectName(QStringLiteral("workspaceStack"));
    m_emptyLabel = new QLabel(tr("No workspace yet.\nOpen a model or config file with File › Open (Ctrl+O)."), m_stack);
    m_emptyLabel->setAlignment(Qt::AlignCenter);
    m_stack->addWidget(m_emptyLabel);

    auto* splitter = new QSplitter(this);
    splitter->addWidget(m_sidebar);
    splitter->addWidget(m_stack);
    splitter->setStretchFactor(0, 0);
    splitter->setStretchFactor(1, 1);
    // The sidebar at its narrowest to start with: the workspaces need the width on a laptop.
    splitter->setSizes({m_sidebar->minimumWidth(), 100 * m_sidebar->minimumWidth()});
    setCentralWidget(splitter);

    connect(m_sidebar, &QListWidget::currentRowChanged, this, [this](int row) {
        if (row >= 0)
            m_stack->setCurrentIndex(row + 1);
    });

    setAcceptDrops(true);
    createMenus();
    statusBar()->showMessage(
        gpu::available()
            ? tr("GPU: %1").arg(QString::fromStdString(gpu::devices().front().name))
            : tr("GPU: not available: %1. CPU paths in use").arg(QString::fromStdString(gpu::unavailableReason())));
    restoreSettings();
}

MainWindow::~MainWindow() = default;

void MainWindow::createMenus()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* open = file->addAction(tr("&Open…"), this, &MainWindow::openFileDialog);
    open->setShortcut(QKeySequence::Open);
    open->setToolTip(tr("Open a safetensors file, a sharded index, a GGUF file or a config.json"));
    QAction* openFolder = file->addAction(tr("Open &Folder…"), this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Open a checkpoint folder"));
        if (!dir.isEmpty())
            Q_EMIT openFileRequested(dir);
    });
    openFolder->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    openFolder->setToolTip(tr("Open a folder holding model.safetensors or model.safetensors.index.json"));
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    file->addSeparator();
    QAction* exportAction = file->addAction(tr("&Export Report…"), this, &MainWindow::exportRequested);
    exportAction->setObjectName(QStringLiteral("exportAction"));
    exportAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    m_viewMenu = menuBar()->addMenu(tr("&View"));

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    QAction* about = help->addAction(tr("&About QuantLens"), this, &MainWindow::showAbout);
    about->setShortcut(QKeySequence(Qt::Key_F1));
    help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
}

void MainWindow::addWorkspace(const QString& id, const QString& title, QWidget* page)
{
    m_ids << id;
    // In a scroll area: a workspace larger than the window (a laptop's 1280 x 720, a half-screen
    // window) scrolls instead of making the window larger than the screen.
    auto* scroll = new WorkspaceScrollArea(m_stack);
    scroll->setObjectName(id + QStringLiteral("Scroll"));
    scroll->setWorkspace(page);
    m_stack->addWidget(scroll);
    m_sidebar->addItem(title);
    const int index = int(m_ids.size());
    QAction* action = m_viewMenu->addAction(title, this, [this, id] { showWorkspace(id); });
    if (index <= 9)
        action->setShortcut(QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_0 + index)));
    if (m_sidebar->currentRow() < 0 || id == m_restoredWorkspace)
        m_sidebar->setCurrentRow(index - 1);
}

QStringList MainWindow::workspaceIds() const
{
    return m_ids;
}

QString MainWindow::currentWorkspaceId() const
{
    const int row = m_sidebar->currentRow();
    return row >= 0 && row < m_ids.size() ? m_ids.at(row) : QString();
}

bool MainWindow::showWorkspace(const QString& id)
{
    const auto row = m_ids.indexOf(id);
    if (row < 0)
        return false;
    m_sidebar->setCurrentRow(int(row));
    return true;
}

QWidget* MainWindow::workspace(const QString& id) const
{
    const auto row = m_ids.indexOf(id);
    if (row < 0)
        return nullptr;
    auto* scroll = qobject_cast<QScrollArea*>(m_stack->widget(int(row) + 1));
    return scroll ? scroll->widget() : nullptr;
}

QStringList MainWindow::recentFiles() const
{
    return m_recent;
}

void MainWindow::addRecentFile(const QString& path)
{
    const QString absolute = QFileInfo(path).absoluteFilePath();
    m_recent.removeAll(absolute);
    m_recent.prepend(absolute);
    while (m_recent.size() > kMaxRecentFiles)
        m_recent.removeLast();
    rebuildRecentMenu();
    QSettings().setValue(QStringLiteral("recentFiles"), m_recent);
}

void MainWindow::rebuildRecentMenu()
{
    m_recentMenu->clear();
    int n = 0;
    for (const QString& path : std::as_const(m_recent)) {
        ++n;
        QAction* action = m_recentMenu->addAction(QStringLiteral("&%1 %2").arg(n % 10).arg(path), this,
                                                  [this, path] { Q_EMIT openFileRequested(path); });
        action->setToolTip(path);
    }
    m_recentMenu->setEnabled(!m_recent.isEmpty());
}

void MainWindow::openFileDialog()
{
    const QString start = m_recent.isEmpty() ? QString() : QFileInfo(m_recent.front()).absolutePath();
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open model or config"), start, tr("Models and configs (*.safetensors *.gguf *.json);;All files (*)"));
    if (!path.isEmpty())
        Q_EMIT openFileRequested(path);
}

void MainWindow::showAbout()
{
    QMessageBox::about(
        this, tr("About QuantLens"),
        tr("<h3>QuantLens %1</h3>"
           "<p>Will this finetune fit on my GPU? What does quantization do to this model? How fast is it?</p>"
           "<p>Exact NF4/FP4 quantizers following bitsandbytes, GGUF formats following ggml, and a memory "
           "planner checked against measured peaks.</p><p>GPU: %2</p>")
            .arg(QString::fromLatin1(kVersion),
                 gpu::available() ? QString::fromStdString(gpu::devices().front().name)
                                  : QString::fromStdString(gpu::unavailableReason()).toHtmlEscaped()));
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    saveSettings();
    event->accept();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event)
{
    if (event->mimeData()->hasUrls() && event->mimeData()->urls().front().isLocalFile())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event)
{
    const auto urls = event->mimeData()->urls();
    if (!urls.isEmpty() && urls.front().isLocalFile()) {
        Q_EMIT openFileRequested(urls.front().toLocalFile());
        event->acceptProposedAction();
    }
}

void MainWindow::saveSettings() const
{
    QSettings settings;
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
    settings.setValue(QStringLiteral("window/workspace"), currentWorkspaceId());
    settings.setValue(QStringLiteral("recentFiles"), m_recent);
}

void MainWindow::restoreSettings()
{
    QSettings settings;
    if (!restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray()))
        resize(1280, 800);
    restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
    m_restoredWorkspace = settings.value(QStringLiteral("window/workspace")).toString();
    m_recent = settings.value(QStringLiteral("recentFiles")).toStringList();
    rebuildRecentMenu();
}

} // namespace quantlens::ui
