"""The start-up baseline: a bare PySide6 program that shows one window of azassist's size."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QLabel, QMainWindow


def main() -> int:
    app = QApplication(sys.argv[:1])
    window = QMainWindow()
    window.setWindowTitle("bare")
    window.setCentralWidget(QLabel("A bare PySide6 window"))
    window.resize(980, 720)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
