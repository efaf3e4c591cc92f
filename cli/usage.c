/*
 * usage.c - the help texts of the bnmlp tool.
 */
#include "usage.h"

const char TOOL_USAGE[] =
    "usage: bnmlp COMMAND [FLAGS]\n"
    "       bnmlp help COMMAND | bnmlp COMMAND --help\n"
    "       bnmlp --version\n"
    "\n"
    "Trains, evaluates and runs multilayer perceptrons with batch normalization (libbnmlp).\n"
    "\n"
    "Commands:\n";

const char EXIT_STATUS_HELP[] =
    "\n"
    "Exit status: 0 success; 1 a runtime failure (a file that cannot be read or written, a\n"
    "model that diverged, outputs that would overwrite each other or an input: the message names\n"
    "the path or the reason); 2 a usage error (unknown flag, missing or bad value, bad --layers\n"
    "SPEC, missing or conflicting flags); 130 (143) train or resume interrupted by SIGINT, i.e.\n"
    "Ctrl-C (SIGTERM): the epoch under way is finished, then the model, history, plot (and the\n"
    "checkpoint, with --checkpoint-every) are saved as of that epoch.\n";

#define DATA_HELP                                                                                            \
    "Data:\n"                                                                                                \
    "  --data FILE             training rows: numeric CSV (header optional) or NumPy .npy (2-D)\n"           \
    "  --label-column COL      the label column: a CSV header name or a 0-based index (default:\n"           \
    "                          the last column)\n"                                                           \
    "  --labels FILE           labels in their own file (.npy or one-column CSV); then every\n"              \
    "                          column of --data is a feature\n"                                              \
    "                          Labels: 0 or 1 for binary cross-entropy; class indices 0..K-1 for\n"          \
    "                          categorical cross-entropy, K being the last dense layer's units;\n"           \
    "                          any finite targets for mean squared error\n"

#define FIT_HELP                                                                                             \
    "Training:\n"                                                                                            \
    "  --batch-size N          rows per step (default 32)\n"                                                 \
    "  --optimizer NAME        the optimizer (listed below with the flags it takes and their\n"              \
    "                          defaults; default: the first)\n"                                              \
    "  --lr R                  learning rate (default: the optimizer's)\n"                                   \
    "  --momentum M            momentum in [0, 1]\n"                                                         \
    "  --nesterov              Nesterov momentum\n"                                                          \
    "  --weight-decay W        weight decay: L2 on the gradient, or decoupled (AdamW)\n"                     \
    "  --SETTING V, --SWITCH   any other setting of the optimizer by its library name, dashes\n"             \
    "                          for underscores (e.g. --rho 0.9, --centered): listed below\n"                 \
    "  --threads N             threads of the library's pool, 0 to 1024 (default 0: all online\n"            \
    "                          cores; 1: no thread is created); results are bit-identical for\n"             \
    "                          every count\n"                                                                \
    "Validation (metrics in inference mode after every epoch):\n"                                            \
    "  --validation-data FILE  a second data file, with the same label flags\n"                              \
    "  --validation-labels FILE  its labels, when --data's come from --labels\n"                             \
    "  --validation-split F    validate on the last fraction F of --data's rows, in (0, 1), as\n"            \
    "                          Keras does (not with --validation-data)\n"                                    \
    "Output:\n"                                                                                              \
    "  --out FILE              the trained model (default model.bnmlp). No output may name an\n"             \
    "                          input or another output, nor a directory: refused before training\n"          \
    "  --history FILE          the metrics of every epoch as CSV\n"                                          \
    "                          (epoch,loss,accuracy,val_loss,val_accuracy)\n"                                \
    "  --plot FILE             the learning curves (loss and accuracy) as SVG, the lowest\n"                 \
    "                          val_loss's epoch and a restored one marked\n"                                 \
    "  --plot-log              a log10 loss axis in the plot\n"                                              \
    "  --checkpoint-every N    save a checkpoint every N epochs, and when interrupted (see\n"                \
    "                          bnmlp resume)\n"                                                              \
    "  --quiet                 no summary of the data and no progress on stderr\n"

const char TRAIN_USAGE[] =
    "usage: bnmlp train --data FILE --layers SPEC --epochs N [--labels FILE | --label-column COL]\n"
    "                   [--loss NAME] [--optimizer NAME] [--lr R] [--momentum M] [--nesterov]\n"
    "                   [--weight-decay W] [--clipnorm C | --clipvalue V | --global-clipnorm C]\n"
    "                   [--SETTING V ...] [--batch-size N] [--seed K] [--threads N]\n"
    "                   [--validation-data FILE | --validation-split F] [--out FILE] [--history FILE]\n"
    "                   [--plot FILE [--plot-log]] [--checkpoint-every N [--checkpoint FILE]]\n"
    "                   [--quiet] [--standardize] [--early-stopping P[,MIN_DELTA][,restore]]\n"
    "                   [--reduce-lr F,P[,MIN_LR] | --lr-schedule KIND[:ARGS]] [--monitor NAME]\n"
    "                   [--save-best] [--metrics NAME,...] [--precision fp32|bf16]\n"
    "                   [--class-weight balanced|CLASS:W,... [--weight-normalization batch|sum]]\n";

const char TRAIN_HELP[] =
    "Builds the model of SPEC, trains it with Keras's fit (reshuffled every epoch) and saves it.\n"
    "What was read (rows, features, classes, training and validation rows) and the progress go to\n"
    "stderr, the last epoch's metrics to stdout.\n"
    "\n"
    "Model:\n"
    "  --layers SPEC           the layers, comma-separated (an example is below):\n"
    "                            dense:UNITS[:ACTIVATION][:INITIALIZER][:nobias][:alpha=A]\n"
    "                            ACTIVATION[:alpha=A]   (the activations are listed below)\n"
    "                            bn[:momentum=M][:eps=E][:nocenter][:noscale]\n"
    "                              [:variance=biased|unbiased|keras2]\n"
    "                              [:average=exponential|debiased|cumulative]\n"
    "                            dropout:RATE           (inverted dropout, RATE in [0, 1))\n"
    "                            norm                   (first layer only: standardizes each\n"
    "                                                    feature, adapted on the training rows)\n"
    "                          initializers: glorot_uniform (default), glorot_normal, he_uniform,\n"
    "                          he_normal, zeros; bn defaults: momentum=0.99, eps=1e-3 (Keras)\n"
    "  --loss NAME             the loss, listed below (default: categorical cross-entropy when\n"
    "                          SPEC ends with softmax, else binary cross-entropy)\n"
    "  --epochs N              epochs to train\n"
    "  --seed K                initialization and shuffling (default 1)\n" DATA_HELP FIT_HELP
    "  --checkpoint FILE       where checkpoints go (default OUT.ckpt)\n";

const char TRAIN_CONTROLS_HELP[] =
    "  --precision fp32|bf16   the dense layers' matrix products (default fp32): bf16 rounds their\n"
    "                          inputs to bfloat16 and accumulates in float32 (mixed precision:\n"
    "                          weights, optimizer, batch norm and loss stay float32); kept in the\n"
    "                          model file, so resume, evaluate and predict use it too\n"
    "  --standardize           prepend a norm layer to SPEC (each feature standardized, adapted\n"
    "                          on the training rows)\n"
    "Class weights (Keras's fit(class_weight=); classification losses only):\n"
    "  --class-weight balanced|CLASS:W,...\n"
    "                          multiply each row's loss by its class's weight: balanced is\n"
    "                          scikit-learn's N / (classes x count), counted on the training rows\n"
    "                          (after --validation-split); or CLASS:W pairs, CLASS a class name\n"
    "                          (text labels) or index, W >= 0, unlisted classes 1. Validation is\n"
    "                          never weighted (Keras). Stored in checkpoints: resume continues\n"
    "                          with them\n"
    "  --weight-normalization batch|sum\n"
    "                          divide a batch's weighted loss sum by its rows (batch: Keras's\n"
    "                          default) or by its weights' sum (sum: PyTorch's\n"
    "                          CrossEntropyLoss(weight=))\n"
    "Training controls (Keras's callbacks; MONITOR is val_loss with validation rows, else loss):\n"
    "  --early-stopping P[,MIN_DELTA][,restore]\n"
    "                          stop after P epochs without an improvement of MONITOR by more\n"
    "                          than MIN_DELTA (default 0); restore: save the best epoch's weights\n"
    "  --reduce-lr F,P[,MIN_LR]  multiply the rate by F in (0, 1) after P epochs without\n"
    "                          improvement (floor MIN_LR, default 0); not with --lr-schedule\n"
    "  --lr-schedule KIND[:ARGS]  the rate per epoch, from --lr (PyTorch's schedulers):\n"
    "                            step:STEP_SIZE[:GAMMA]       times GAMMA (0.1) every STEP_SIZE\n"
    "                            multistep:M1,M2,...[:GAMMA]  times GAMMA at each epoch Mi\n"
    "                            exp:GAMMA                    times GAMMA every epoch\n"
    "                            cosine[:T_MAX[:ETA_MIN]]     cosine to ETA_MIN (0) over T_MAX\n"
    "                                                         (--epochs) epochs\n"
    "                            onecycle:MAX_LR[:PCT_START]  up to MAX_LR over PCT_START (0.3)\n"
    "                                                         of --epochs, then down\n"
    "  --monitor NAME          what the controls watch: loss, val_loss, accuracy, val_accuracy,\n"
    "                          or a --metrics NAME / val_NAME (e.g. val_auc)\n"
    "  --save-best             save the best MONITOR epoch's weights (as ...,restore; without\n"
    "                          --early-stopping all the epochs run)\n"
    "  --metrics NAME,...      every epoch, these metrics of the library (e.g. auc,f1; bnmlp\n"
    "                          evaluate lists the model's) as Keras's: over the epoch's training\n"
    "                          batches (training mode) and, as val_NAME, the validation rows\n"
    "                          (inference mode): shown in the progress and the last line, and\n"
    "                          --history columns\n"
    "The history gets a learning_rate column with --reduce-lr or --lr-schedule.\n";

const char CLIP_HELP[] =
    "Gradient clipping (Keras's optimizer arguments; any optimizer; at most one of the three;\n"
    "default 0: off; a checkpoint keeps it, so resume needs no flag):\n"
    "  --clipnorm C            each parameter array's gradient (a kernel, a bias, ...) scaled\n"
    "                          to L2 norm C at most (Keras's clipnorm)\n"
    "  --clipvalue V           every gradient element clamped to [-V, V] (Keras's clipvalue,\n"
    "                          PyTorch's clip_grad_value_)\n"
    "  --global-clipnorm C     all the gradients together scaled to L2 norm C at most (Keras's\n"
    "                          global_clipnorm, PyTorch's clip_grad_norm_)\n";

const char RESUME_USAGE[] =
    "usage: bnmlp resume --checkpoint FILE --epochs N --data FILE [the data, validation and output\n"
    "                    flags of the interrupted bnmlp train] [optimizer flags to change]\n"
    "                    [--override]\n";

const char RESUME_HELP[] =
    "Continues an interrupted training from a checkpoint (bnmlp train --checkpoint-every): loads\n"
    "it and trains from the epoch after the one it stored up to --epochs, exactly as if never\n"
    "interrupted. The checkpoint holds the model, its loss, the optimizer's settings and state,\n"
    "the random generator and the row order: give the same --data and validation flags as the\n"
    "interrupted run; no optimizer flag is needed, and --batch-size defaults to the\n"
    "checkpoint's. A flag that changes a setting the checkpoint stored (an optimizer setting, the\n"
    "batch size) is refused unless --override is given (then a warning names the change); an\n"
    "--optimizer other than the checkpoint's is always refused, and so is a model file that is\n"
    "not a checkpoint. The validation flags are not stored: give the interrupted run's (training\n"
    "rows other than the checkpoint's, e.g. a dropped --validation-split, need --override). A\n"
    "checkpoint written before libbnmlp stored the settings (format version 1) continues with\n"
    "its optimizer's defaults: give the interrupted run's optimizer flags then.\n"
    "\n"
    "  --checkpoint FILE       the checkpoint; --checkpoint-every rewrites it\n"
    "  --override              let flags change the settings the checkpoint stored (warned)\n"
    "  --epochs N              the total number of epochs to reach (more than the checkpoint's)\n"
    "  --early-stopping, --reduce-lr, --lr-schedule, --monitor, --save-best, --metrics: as for\n"
    "                          bnmlp train; the checkpoint's controls continue (state\n"
    "                          too): a differing one needs --override\n" DATA_HELP FIT_HELP;

const char EVALUATE_USAGE[] =
    "usage: bnmlp evaluate --model FILE --data FILE [--labels FILE | --label-column COL] [--threads N]\n"
    "                      [--metrics NAME,...]\n";

const char EVALUATE_HELP[] =
    "Prints the loss and accuracy (for the cross-entropies) of a saved model on labelled data, in\n"
    "inference mode (batch norm uses its moving statistics), on stdout.\n"
    "\n"
    "Then the metrics of the model's task over every row (binary: accuracy, precision, recall,\n"
    "F1, AUC; multi-class: accuracy, top-k, macro and weighted F1; mean squared error: MAE, RMSE,\n"
    "R^2) and, for a classifier, the confusion matrix.\n"
    "\n"
    "  --model FILE            a model saved by bnmlp train (or a checkpoint)\n"
    "  --metrics NAME,...      print these metrics instead (the library's names, e.g. auc,f1)\n" DATA_HELP
    "  --threads N             threads of the library's pool (default 0: all online cores)\n";

const char PREDICT_USAGE[] =
    "usage: bnmlp predict --model FILE --data FILE --out FILE|- [--classes] [--label-column COL]\n"
    "                     [--threads N]\n";

const char PREDICT_HELP[] =
    "Writes a saved model's outputs for every row of --data as CSV with a header: p (one binary\n"
    "output: the probability of class 1), p0..pK-1 (softmax: class probabilities) or output\n"
    "(mean squared error), in inference mode.\n"
    "\n"
    "  --model FILE            a model saved by bnmlp train\n"
    "  --data FILE             CSV or .npy rows; a file with one column more than the model's inputs\n"
    "                          has its label column left out (the last one, or --label-column)\n"
    "  --label-column COL      the column to leave out: a CSV header name or a 0-based index\n"
    "  --out FILE              the predictions (CSV); - writes them to stdout\n"
    "  --classes               add a column 'label': the predicted class (p > 0.5, or the argmax);\n"
    "                          --labels, its old name, still works with a warning (--labels FILE\n"
    "                          names a file of labels in train, resume and evaluate)\n"
    "  --threads N             threads of the library's pool (default 0: all online cores)\n";

const char SUMMARY_USAGE[] = "usage: bnmlp summary --model FILE\n";

const char SUMMARY_HELP[] =
    "Prints a saved model's layers, output shapes, parameter counts (Keras's summary) and\n"
    "settings (initializer, activation and alpha, batch norm's momentum, epsilon, estimators), its\n"
    "loss, the batch it was built for and, for a checkpoint, the epochs it has done.\n"
    "\n"
    "  --model FILE            a model or checkpoint\n";

const char EXPORT_USAGE[] =
    "usage: bnmlp export --model FILE --format FORMAT --out PATH [--name NAME] [--with-test]\n"
    "                    [--test-rows N] [--weights float32|int8]\n";

const char EXPORT_HELP[] =
    "Writes a saved model in another format for inference elsewhere (docs/deploy.md): batch norm\n"
    "with its moving statistics, dropout as the identity.\n"
    "\n"
    "  --model FILE            a model saved by bnmlp train (never overwritten)\n"
    "  --format FORMAT         one of the formats below (the library's list)\n"
    "  --out PATH              the file written; for a format that writes a directory (c), the\n"
    "                          directory that receives the files, created if missing\n"
    "  --name NAME             the exported model's name: a C identifier of at most 64 characters\n"
    "                          (the C format's prefix and file names). Default model\n"
    "  --with-test             also write the format's self-test (c: NAME_test.c, a main() that\n"
    "                          compares with the library's outputs on stored inputs)\n"
    "  --test-rows N           rows of inputs the self-test stores (with --with-test). Default 16\n"
    "  --weights float32|int8  dense kernels as float32 (default, exact) or per-output-channel int8\n"
    "                          (formats that take it)\n";
