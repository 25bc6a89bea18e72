from django.db import models


class Shelf(models.Model):
    name = models.CharField(max_length=100, unique=True)

    def __str__(self):
        return self.name


class Book(models.Model):
    shelf = models.ForeignKey(Shelf, on_delete=models.CASCADE)
    title = models.CharField(max_length=200)
    published = models.DateField(null=True)

    class Meta:
        # Serves "a shelf's books by title": the declared index the drift tests drop and restore.
        indexes = [models.Index(fields=["title", "published"], name="pa_book_title_pub_idx")]

    def __str__(self):
        return self.title
