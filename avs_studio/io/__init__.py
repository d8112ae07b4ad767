"""avs_studio.io: dataset layouts in and out (AVSBench S4/MS3/AVSS, COCO, PNG), evaluation folders.

See docs/CONTRACTS.md. The synthetic demo data lives in avs_studio.io.demo (import it directly).
"""

from avs_studio.io.assemble import assemble_clip, lossless_codec
from avs_studio.io.avsbench import (
    CSV_COLUMNS,
    CSV_NAME,
    SUBSETS,
    ClipEntry,
    CsvWriter,
    Problem,
    audio_relpath,
    frame_relpath,
    mask_relpath,
    read_csv_rows,
    read_label2idx,
    scan_layout,
)
from avs_studio.io.errors import DatasetError, OutputExistsError
from avs_studio.io.evalfolders import MissingPredictionError, iter_video_pairs, video_folders
from avs_studio.io.mask_files import MaskFile, MaskFileError, read_mask_png, scan_mask_dir
from avs_studio.io.writers import (
    FORMATS,
    AvsbenchWriter,
    CocoWriter,
    ExportClip,
    PngWriter,
    export_folder,
    parse_ratios,
    resplit,
    write_manifest,
)

__all__ = [
    "CSV_COLUMNS",
    "CSV_NAME",
    "FORMATS",
    "SUBSETS",
    "AvsbenchWriter",
    "ClipEntry",
    "CocoWriter",
    "CsvWriter",
    "DatasetError",
    "ExportClip",
    "MaskFile",
    "MaskFileError",
    "MissingPredictionError",
    "OutputExistsError",
    "PngWriter",
    "Problem",
    "assemble_clip",
    "export_folder",
    "audio_relpath",
    "frame_relpath",
    "iter_video_pairs",
    "lossless_codec",
    "mask_relpath",
    "parse_ratios",
    "read_csv_rows",
    "read_label2idx",
    "read_mask_png",
    "resplit",
    "scan_layout",
    "scan_mask_dir",
    "video_folders",
    "write_manifest",
]
