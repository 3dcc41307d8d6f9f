"""The app's pages: the one list that navigation (app.py), Home's text and the tests read.

Adding a page is one file in pages/ and one line here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PageSpec:
    file: str  # relative to the project root, e.g. "pages/edit.py"
    title: str
    icon: str
    summary: str  # one line for Home

    @property
    def name(self) -> str:
        """The page's short name ("edit"), also its URL path."""
        return Path(self.file).stem


PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/home.py", "Home", ":material/home:",
             "what latentlab is, the zoo with its test metrics, and the selected model at work."),
    PageSpec("pages/explore.py", "Explore", ":material/scatter_plot:",
             "a 2-D map of a split's codes, coloured by label or reconstruction error; select points to see them."),
    PageSpec("pages/edit.py", "Edit", ":material/tune:",
             "a sample with a slider per latent dimension and per attribute direction."),
    PageSpec("pages/interpolate.py", "Interpolate", ":material/timeline:",
             "walk between two samples' codes, linearly or along a great circle, and judge the path."),
    PageSpec("pages/upload.py", "Upload", ":material/upload:",
             "your own images: reconstruction, error map, nearest neighbours, and where they land on the map."),
    PageSpec("pages/train.py", "Train", ":material/model_training:",
             "a new model on built-in data or your own images, as a background job with live curves."),
    PageSpec("pages/compare.py", "Compare", ":material/compare:",
             "two to four models side by side on the same inputs, interpolation and attribute edit."),
    PageSpec("pages/compress.py", "Compress", ":material/compress:",
             "an image as real bytes through a learned codec, beside JPEG and WebP of the same size."),
    PageSpec("pages/disentangle.py", "Disentangle", ":material/grid_view:",
             "which factor each latent dimension moves, the latent × factor matrix, and the sweep's trade-off."),
    PageSpec("pages/anomaly.py", "Anomaly", ":material/crisis_alert:",
             "say what is normal; score histograms, ROC and AUROC, the most anomalous images, and your own image's percentile."),
    PageSpec("pages/restore.py", "Restore", ":material/healing:",
             "corrupt an image (noise, a box, a painted mask) and restore it by encode–decode and by latent optimisation."),
    PageSpec("pages/generate.py", "Generate", ":material/auto_awesome:",
             "new images of a requested digit or face attributes from a frozen decoder, and from the prior or a code density."),
    PageSpec("pages/features.py", "Features", ":material/school:",
             "few-label probe curves: accuracy against labels per class for pixels, PCA and every model of the dataset."),
    PageSpec("pages/glossary.py", "Glossary", ":material/menu_book:",
             "what the words and numbers on these pages mean."),
)


def page(name: str) -> PageSpec:
    """The page called `name` ("edit"); KeyError naming the known pages otherwise."""
    for spec in PAGES:
        if spec.name == name:
            return spec
    raise KeyError(f"no page {name!r}; pages: {', '.join(p.name for p in PAGES)}")
